#!/usr/bin/env bash
# The AlignSharp benchmark: one command runs everything and writes bench/results/.
#   bash bench/run.sh            default preset (~10-15 min on an idle 2-core machine)
#   bash bench/run.sh --quick    smoke preset (~2 min)
# AlignSharp (bench/AlignSharp.Bench) and the PyTorch eager baseline (bench/pytorch_dpo_step.py, Debian's
# python3-torch, installed here when missing) run in the same invocation, alternating A/B process by process;
# the report takes medians over all timed steps and prints the ratios. See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=default
for a in "$@"; do
  case "$a" in
    --quick) preset=quick ;;
    *) echo "usage: bash bench/run.sh [--quick]" >&2; exit 1 ;;
  esac
done
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 NO_COLOR=1
out=bench/results
mkdir -p "$out"
raw="$out/raw-$preset.jsonl"
: > "$raw.tmp"

bash bench/ensure_torch.sh
dotnet build bench/AlignSharp.Bench -c Release -v q -nologo >/dev/null
AS=bench/AlignSharp.Bench/bin/Release/net10.0/AlignSharp.Bench
PY_BIN=${BENCH_PYTHON:-/usr/bin/python3}
OPENBLAS_DIR=/usr/lib/x86_64-linux-gnu/openblas-pthread

as() { "$AS" "$@" >> "$raw.tmp"; }
# The baseline's BLAS kernel (pyenv, pick_blas): bench/baseline_blas.sh.
. bench/baseline_blas.sh
py() {
  local threads=2 prev=""
  for x in "$@"; do [ "$prev" = "--threads" ] && threads=$x; prev=$x; done
  pyenv "$threads" "$@" >> "$raw.tmp"
}
# ab ROUNDS "alignsharp args" "pytorch args": alternate which library goes first in each round.
ab() {
  local rounds=$1 a=$2 b=$3
  for ((r = 1; r <= rounds; r++)); do
    echo "bench: [$r/$rounds] alignsharp $a | pytorch $b" >&2
    # shellcheck disable=SC2086
    if ((r % 2)); then as $a; py $b; else py $b; as $a; fi
  done
}

if [ "$preset" = quick ]; then
  models="gpt2-mini llama-mini"; rounds=1; pipeline_rounds=1; steps=2; gemm_sizes="1024"; ckpt_model=llama-mini
else
  models="gpt2-mini llama-mini gpt2-small llama-135m llama-360m"; rounds=2; pipeline_rounds=1; steps=2
  gemm_sizes="1024 2048"; ckpt_model=llama-360m
fi
thread_model=gpt2-mini

# 0. The baseline's fastest correct BLAS kernel on this CPU (used by every PyTorch run below).
pick_blas

# 1. GEMM peak of each library (the MFU denominator), 1 and 2 threads.
for t in 1 2; do for n in $gemm_sizes; do ab 2 "gemm --threads $t --size $n" "gemm --threads $t --size $n"; done; done

# 2. Log-prob peak memory at vocabulary 50k, 2B x T = 8 x 512: chunked vs naive, each in its own process.
for g in "" "--grad"; do for mode in chunked naive; do
  # shellcheck disable=SC2086
  ab 1 "logprobs --mode $mode $g" "logprobs --mode $mode $g"
done; done
# The fused kernel alone (no decoder block under the head, AlignSharp only): with vs without backward.
for g in "" "--grad"; do as logprobs --mode chunked --layers 0 $g; done

# 3. Padding waste of random vs length-bucketed batches (data layer; no model involved).
as padding

# 4. Threads: 1 vs 2 on the smallest model (the 2-thread runs come from step 5).
ab "$rounds" "step --model $thread_model --threads 1 --steps $steps" "step --model $thread_model --threads 1 --steps $steps"

# 5. Per model, by size: identical work (same model, batch, reference forward every step, log-probs on scored
#    positions only), then the pipelines: AlignSharp's default (reference log-probs cached) vs a TRL-style
#    PyTorch step (reference forward every step, full (2B, T, V) log-softmax).
for m in $models; do
  if ! "$AS" supports --model "$m"; then echo "bench: skipping $m (not built in this AlignSharp)" >&2; continue; fi
  ab "$rounds" "step --model $m --threads 2 --steps $steps" "step --model $m --threads 2 --steps $steps"
  ab "$pipeline_rounds" "step --model $m --threads 2 --steps $steps --reference cached" "step --model $m --threads 2 --steps $steps --logprobs full"
done

# 6. Gradient checkpointing (AlignSharp option) on the largest model: time and peak memory against step 5.
echo "bench: alignsharp step --model $ckpt_model --checkpointing" >&2
as step --model "$ckpt_model" --threads 2 --steps "$steps" --checkpointing

# 7. bfloat16 matmuls (training.precision) vs float32, AlignSharp only: per model, identical-work steps (reference
#    forward every step) in alternating processes (float32 first in odd rounds), then one same-process A/B run that
#    alternates the two step by step and measures the log-prob error. The report prints bf16 / fp32 step time and
#    the bf16 GEMM rate beside the fp32 one.
for t in 1 2; do as gemm --threads "$t" --size 1024 --dtype bfloat16; done
for m in $models; do
  if ! "$AS" supports --model "$m"; then continue; fi
  for ((r = 1; r <= rounds; r++)); do
    echo "bench: [$r/$rounds] alignsharp step --model $m --precision float32 | bfloat16" >&2
    if ((r % 2)); then order="float32 bfloat16"; else order="bfloat16 float32"; fi
    for p in $order; do as step --model "$m" --threads 2 --steps "$steps" --precision "$p"; done
  done
  echo "bench: alignsharp precision --model $m (same-process A/B)" >&2
  as precision --model "$m" --threads 2 --steps "$steps"
done

mv "$raw.tmp" "$raw"
"$AS" report --in "$raw" --out "$out/$preset"
echo "bench: wrote $out/$preset/summary.{md,csv,json} and $out/$preset/chart.png" >&2

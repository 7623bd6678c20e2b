#!/usr/bin/env bash
# Real-data benchmark (issue 18, item 6): DPO steps on HH-RLHF harmless-base tokenized with SmolLM's tokenizer at max
# length 1024, one process per batching mode (random, length-bucketed, padding-free packed with shared prompts, the
# same on bucketed batches, packed rows without shared prompts), plus the PyTorch eager baseline on the very same
# padded batches. Modes alternate order round by round; see docs/benchmarks.md ("Real data").
#   bash bench/hh.sh [--model NAME] [--rounds N] [--pairs N] [--batch-size N] [--no-baseline]
# NAME is a shape of bench/configs.json (default llama-135m, the SmolLM-135M shape; hh-small is the quick one).
# Writes bench/results/hh.jsonl (raw lines) and bench/results/hh.md (the table).
set -euo pipefail
cd "$(dirname "$0")/.."
model=llama-135m rounds=2 pairs=32 batch=4 baseline=1
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --batch-size) batch=$2; shift 2 ;;
    --no-baseline) baseline=0; shift ;;
    *) echo "usage: bash bench/hh.sh [--model NAME] [--rounds N] [--pairs N] [--batch-size N] [--no-baseline]" >&2; exit 1 ;;
  esac
done
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 NO_COLOR=1
out=bench/results
mkdir -p "$out"
raw="$out/hh.jsonl"
: > "$raw.tmp"
dotnet build bench/AlignSharp.Bench -c Release -v q -nologo >/dev/null
AS=bench/AlignSharp.Bench/bin/Release/net10.0/AlignSharp.Bench
PY_BIN=${BENCH_PYTHON:-/usr/bin/python3}
OPENBLAS_DIR=/usr/lib/x86_64-linux-gnu/openblas-pthread
batches="$out/hh-batches"
common=(--model "$model" --pairs "$pairs" --batch-size "$batch" --threads 2)
echo "{\"kind\": \"load\", \"uptime\": \"$(uptime)\"}" >> "$raw.tmp"
if [ "$baseline" = 1 ]; then
  bash bench/ensure_torch.sh
  . bench/baseline_blas.sh
  pick_blas
fi
# The padded batches for the baseline (same pairs, same plan as AlignSharp's random and bucketed modes).
for mode in random bucketed; do
  "$AS" hh "${common[@]}" --batching "$mode" --write-batches "$batches-$mode.jsonl" >> "$raw.tmp"
done
modes=(random bucketed packed packed-bucketed packed-rows)
for ((r = 1; r <= rounds; r++)); do
  order=("${modes[@]}")
  ((r % 2)) || order=(packed-rows packed-bucketed packed bucketed random)
  for mode in "${order[@]}"; do
    echo "bench: [$r/$rounds] alignsharp hh --batching $mode" >&2
    "$AS" hh "${common[@]}" --batching "$mode" >> "$raw.tmp"
    if [ "$baseline" = 1 ] && [[ "$mode" = random || "$mode" = bucketed ]]; then
      echo "bench: [$r/$rounds] pytorch hh --batching $mode" >&2
      pyenv 2 hh --model "$model" --batches "$batches-$mode.jsonl" --batching "$mode" --threads 2 >> "$raw.tmp"
    fi
  done
done
echo "{\"kind\": \"load\", \"uptime\": \"$(uptime)\"}" >> "$raw.tmp"
mv "$raw.tmp" "$raw"
"$AS" hh-report --in "$raw" --out "$out/hh.md"

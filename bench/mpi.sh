#!/usr/bin/env bash
# Data-parallel scaling on this machine: training tokens/s with 1 process and with 2 MPI ranks (1 thread each), and
# float32 allreduce bandwidth between 2 ranks. Prints a small table; docs/scaling.md records a run.
#   bash bench/mpi.sh
# Step time is taken from two run lengths (STEPS_SHORT and STEPS_LONG) so start-up (runtime, libtorch, MPI_Init,
# data) cancels: step = (t_long - t_short) / (STEPS_LONG - STEPS_SHORT).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 NO_COLOR=1
command -v mpirun >/dev/null || { echo "mpirun not found: apt-get install openmpi-bin libopenmpi-dev" >&2; exit 1; }
dotnet build src/AlignSharp.Cli -c Release -v q -nologo >/dev/null
CLI="dotnet src/AlignSharp.Cli/bin/Release/net10.0/AlignSharp.Cli.dll"
MPI="mpirun --allow-run-as-root --oversubscribe --bind-to core"
STEPS_SHORT=${STEPS_SHORT:-5}
STEPS_LONG=${STEPS_LONG:-25}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ALIGNSHARP_CACHE="$work/cache"
# examples/dpo-tiny.yaml widened to a model where compute, not latency, dominates a step; global batch 8.
SETS=(--set model.hidden_size=128 --set model.num_layers=4 --set model.num_heads=4 --set training.threads=1
      --set training.batch_size=8 --set training.warmup_steps=0 --set training.logging_steps=1000
      --set training.eval_steps=0 --set data.eval_fraction=0 --set reference=frozen)
# Tokens per global batch: each pair is two rows (prompt + chosen, prompt + rejected) of bytes, plus BOS/EOS.
tokens=$(python3 -c '
import json
rows=[json.loads(l) for l in open("examples/tiny-pairs.jsonl")]
n=[2*len(r["prompt"].encode())+len(r["chosen"].encode())+len(r["rejected"].encode())+4 for r in rows]
print(round(8*sum(n)/len(n)))')
run() { # ranks steps -> seconds
  local ranks=$1 steps=$2 out="$work/r$1-s$2"
  local launch=($CLI); [ "$ranks" -gt 1 ] && launch=($MPI -np "$ranks" $CLI)
  local t0=$(date +%s.%N)
  "${launch[@]}" train --config examples/dpo-tiny.yaml "${SETS[@]}" --set training.max_steps="$steps" \
    --set output_dir="$out" >/dev/null
  echo "$(date +%s.%N) - $t0" | bc -l
}
printf 'ranks\tstep_ms\ttokens/s\n'
for ranks in 1 2; do
  short=$(run "$ranks" "$STEPS_SHORT"); long=$(run "$ranks" "$STEPS_LONG")
  step=$(echo "($long - $short) / ($STEPS_LONG - $STEPS_SHORT)" | bc -l)
  printf '%d\t%.1f\t%.0f\n' "$ranks" "$(echo "$step * 1000" | bc -l)" "$(echo "$tokens / $step" | bc -l)"
done
echo "(tokens per global batch: $tokens)"
$MPI -np 2 $CLI mpi bandwidth --megabytes 0.1 --megabytes 1 --megabytes 16 --megabytes 64 --iterations 10

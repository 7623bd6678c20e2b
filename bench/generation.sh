#!/usr/bin/env bash
# Sampling throughput of the KV-cache generator, batch 1 vs 16 (the online loop's sample step); see docs/benchmarks.md.
#   bash bench/generation.sh     ~6 min on a busy 2-core machine; writes bench/results/generation.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build bench/AlignSharp.Bench -c Release -v q -nologo >/dev/null
AS=bench/AlignSharp.Bench/bin/Release/net10.0/AlignSharp.Bench
out=bench/results/generation.jsonl
mkdir -p bench/results
: > "$out.tmp"
for m in gpt2-mini llama-mini gpt2-small; do
  n=32; [ "$m" = gpt2-small ] && n=16
  for b in 1 16; do "$AS" generate --model "$m" --batch-size "$b" --prompts "$n" --threads 2 >> "$out.tmp"; done
done
mv "$out.tmp" "$out"
cat "$out"

#!/usr/bin/env bash
# Adapter memory benchmark: peak RSS and tokens/s of one DPO step at real model shapes (random weights built from
# bench/adapters.json, nothing downloaded), 2 pairs x 512 tokens, one process per configuration, run one at a time.
#   bash bench/adapters.sh            all configurations below (long: the 1.7B step takes minutes on 2 cores)
#   bash bench/adapters.sh NAME...    only the named configurations (e.g. full-360m lora-360m)
# Writes bench/results/adapters/raw.jsonl and summary.md (the table in docs/adapters.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 NO_COLOR=1
out=bench/results/adapters
mkdir -p "$out"
dotnet build bench/AlignSharp.Bench -c Release -v q -nologo >/dev/null
AS=bench/AlignSharp.Bench/bin/Release/net10.0/AlignSharp.Bench
common=(--configs bench/adapters.json --threads 2 --steps 1 --warmup 0)
declare -A runs=(
  [full-360m]="--model smollm2-360m"
  [lora-360m]="--model smollm2-360m --lora-r 16"
  [lora-1.7b-bf16]="--model smollm2-1.7b --lora-r 16 --base-dtype bfloat16"
  [lora-1b-bf16]="--model llama3.2-1b --lora-r 16 --base-dtype bfloat16"
  [lora-1.7b]="--model smollm2-1.7b --lora-r 16"
  [full-360m-ckpt]="--model smollm2-360m --checkpointing"
  [lora-360m-ckpt]="--model smollm2-360m --lora-r 16 --checkpointing"
  [lora-1.7b-bf16-ckpt]="--model smollm2-1.7b --lora-r 16 --base-dtype bfloat16 --checkpointing"
  [lora-1b-bf16-ckpt]="--model llama3.2-1b --lora-r 16 --base-dtype bfloat16 --checkpointing"
)
order=(full-360m lora-360m lora-1.7b-bf16 lora-1b-bf16 full-360m-ckpt lora-360m-ckpt lora-1.7b-bf16-ckpt lora-1b-bf16-ckpt)
[ $# -gt 0 ] && order=("$@")
for name in "${order[@]}"; do
  [ -n "${runs[$name]:-}" ] || { echo "unknown configuration '$name' (have: ${!runs[*]})" >&2; exit 1; }
  echo "bench: $name: $AS adapter-step ${common[*]} ${runs[$name]}" >&2
  # shellcheck disable=SC2086
  "$AS" adapter-step "${common[@]}" ${runs[$name]} | python3 -c 'import json,sys; r=json.load(sys.stdin); r["name"]=sys.argv[1]; print(json.dumps(r))' "$name" >> "$out/raw.jsonl"
done
python3 - "$out/raw.jsonl" > "$out/summary.md" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    rows[r["name"]] = r  # the latest run of each configuration
print("| configuration | model shape | trained | reference | base dtype | gradient checkpointing | params | trainable | peak RSS (GiB) | step (s) | tokens/s |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for name, r in rows.items():
    print(f"| {name} | {r['model']} | {r['mode']} | {r['reference']} | {r['base_dtype']} | {'yes' if r.get('checkpointing') else 'no'} | {r['params']/1e6:.0f}M | "
          f"{r['trainable_params']/1e6:.2f}M | {r['peak_rss_mib']/1024:.2f} | {r['step_seconds']:.0f} | {r['tokens_per_second']:.1f} |")
print()
for suffix, how in (("", "without gradient checkpointing"), ("-ckpt", "both with gradient checkpointing")):
    lora, full = rows.get("lora-360m" + suffix), rows.get("full-360m" + suffix)
    if lora and full:
        ratio = lora["peak_rss_mib"] / full["peak_rss_mib"]
        print(f"LoRA (adapter-disabled reference) / full DPO (frozen reference copy), smollm2-360m shape, {how}: {ratio:.2f}x peak RSS  ")
PY
cat "$out/summary.md"

#!/usr/bin/env bash
# `xtf bench model` against the same work in PyTorch (scripts/bench_pytorch_model.py), issues
# #3 and #19: for each configuration, ROUNDS rounds that alternate the two (so drifts in the
# shared machine's speed hit both; which side runs first swaps every round), 2 threads each: xtf
# as one process of 2 OpenBLAS threads, or with RANKS=2 as two ranks of one thread each (each
# rank runs half the batch, as the pipeline's ranks share work; its training step sums the
# gradients across the ranks). Prints per round and the medians, the ratio of the medians, and
# the median of the rounds' ratios with its interval, against TARGET if given
# (scripts/paired_rounds.py). Needs torch and transformers (pip install torch transformers).
#
#   scripts/bench_model_vs_pytorch.sh                       # all three configs, 3 rounds (5 or more give an interval)
#   CONFIGS="gpt2-small-bench" ROUNDS=8 scripts/bench_model_vs_pytorch.sh
#   CONFIGS="configs/models/smollm2-135m.json configs/models/qwen3-0.6b.json" BATCH=4 LENGTH=256 scripts/bench_model_vs_pytorch.sh
#   LORA=8,32,q_proj+v_proj CONFIGS=configs/models/smollm2-135m.json scripts/bench_model_vs_pytorch.sh   # LoRA training (needs peft)
#   RANKS=2 TARGET=1.3 CONFIGS=configs/models/smollm2-135m.json scripts/bench_model_vs_pytorch.sh   # xtf as 2 ranks x 1 thread
set -euo pipefail
cd "$(dirname "$0")/.."
configs=${CONFIGS:-"gpt2-small-bench llama-bench gpt2-124M"}
rounds=${ROUNDS:-3}
ranks=${RANKS:-1}
case "$ranks" in 1|2) ;; *) echo "RANKS is 1 or 2 (the two cores PyTorch's 2 threads use), got $ranks" >&2; exit 2 ;; esac
work=${WORK:-${TMPDIR:-/tmp}/xtf-bench-model}
xtf=.build/release/xtf
[ -x "$xtf" ] || scripts/setup.sh >/dev/null
python3 -c "import torch, transformers" 2>/dev/null || { echo "needs torch and transformers (pip install torch transformers)" >&2; exit 2; }
rm -rf "$work"; mkdir -p "$work"
for config in $configs; do
  name=$(basename "$config" .json)
  shape=(${BATCH:+--batch "$BATCH"} ${LENGTH:+--length "$LENGTH"} ${LORA:+--lora "$LORA"})
  # One process runs without mpirun, which would bind it (and both its threads) to one core.
  launch=("$xtf"); [ "$ranks" -eq 1 ] || launch=(scripts/xtf-mpirun -np "$ranks")
  run_xtf() {
    "${launch[@]}" bench model --config "$config" "${shape[@]}" --threads $((2 / ranks)) --json "$work/xtf-$name-$1.json" > "$work/xtf-$name-$1.log" 2>&1
  }
  run_torch() {
    python3 scripts/bench_pytorch_model.py --config "$config" "${shape[@]}" --threads 2 --json "$work/torch-$name-$1.json" > "$work/torch-$name-$1.log" 2>&1
  }
  for round in $(seq "$rounds"); do
    if (( round % 2 )); then run_xtf "$round"; run_torch "$round"; else run_torch "$round"; run_xtf "$round"; fi
  done
done
python3 - "$work" "$rounds" "${TARGET:-}" $(for c in $configs; do basename "$c" .json; done) <<'PY'
import json, statistics, sys
sys.path.insert(0, "scripts")
from paired_rounds import summary
work, rounds, target, configs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
print("| config | mode | xtf tokens/s (rounds) | PyTorch tokens/s (rounds) | median xtf / median PyTorch | xtf MFU (median) |")
print("| --- | --- | --- | --- | ---: | ---: |")
notes = []
for c in configs:
    xs = [json.load(open(f"{work}/xtf-{c}-{r}.json")) for r in range(1, rounds + 1)]
    ts = [json.load(open(f"{work}/torch-{c}-{r}.json")) for r in range(1, rounds + 1)]
    for mode in ["scoring", "training"]:
        x = [r[f"{mode}TokensPerSecond"] for r in xs]
        t = [r[f"{mode}_tokens_per_second"] for r in ts]
        mfu = statistics.median(r[f"{mode}GFLOPS"] / r["gemmCeilingGFLOPS"] for r in xs)
        print(f"| {c} | {mode} | {', '.join(f'{v:.0f}' for v in x)} | {', '.join(f'{v:.0f}' for v in t)} "
              f"| {statistics.median(x) / statistics.median(t):.2f}x | {100 * mfu:.1f}% |")
        notes.append(summary(x, t, target=float(target) if target else None, label=f"{c}, {mode}: "))
print()
print("\n".join(notes))
PY

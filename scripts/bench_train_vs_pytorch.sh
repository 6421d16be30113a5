#!/usr/bin/env bash
# `xtf train` against the same training in PyTorch (scripts/bench_train_pytorch.py) on a real
# checkpoint, issue #19: the first RECORDS GSM8K train records (plain template, --max-length
# 256), one epoch in batches of BATCH samples, every response token trained, full fine-tuning
# or LORA adapters (PyTorch + peft). ROUNDS rounds alternate `xtf train` at -np 2 (one
# OpenBLAS thread per rank) and PyTorch with 2 threads (batches grouped by length, so little
# padding; xtf packs sequences without any). Both read the same records, so tokens/s is the
# same token count (prompt and response, no padding) over each one's epoch time: xtf's from its
# losses.jsonl (the steps' timestamps, and step 1's compute, communication and optimizer
# time), PyTorch's around its loop. The records are scored once first (not timed). Which side
# runs first swaps every round. Prints each round, the medians' ratio, and the median of the
# rounds' ratios with its interval against TARGET (default 1.5, the issue's;
# scripts/paired_rounds.py). Needs torch, transformers (and peft for LORA) and an idle machine.
#
#   scripts/bench_train_vs_pytorch.sh                               # SmolLM2-135M-Instruct, full, 48 records, 3 rounds (5 or more give an interval)
#   LORA=8,32,q_proj+v_proj scripts/bench_train_vs_pytorch.sh
#   MODEL=DIR RECORDS=96 BATCH=16 ROUNDS=5 scripts/bench_train_vs_pytorch.sh
set -euo pipefail
cd "$(dirname "$0")/.."
model=${MODEL:-${XTF_CACHE:-$HOME/.cache/xtf}/smollm2-135m-instruct}
records=${RECORDS:-48}
batch=${BATCH:-8}
rounds=${ROUNDS:-3}
target=${TARGET:-1.5}
lora=${LORA:-}
work=${WORK:-${TMPDIR:-/tmp}/xtf-bench-train-vs-pytorch}
xtf=.build/release/xtf
[ -x "$xtf" ] || scripts/setup.sh >/dev/null
[ -f "$model/model.safetensors" ] || "$xtf" model import --gguf "$(scripts/fetch_smollm2.sh)" --out "$model" >/dev/null
python3 -c "import torch, transformers${lora:+, peft}" 2>/dev/null || { echo "needs torch and transformers${lora:+ and peft} (pip install ...)" >&2; exit 2; }
rm -rf "$work"; mkdir -p "$work"
head -n "$records" ../shared/data/gsm8k/train.jsonl > "$work/data.jsonl"
XTF_BIN="$xtf" scripts/xtf-mpirun -np 2 score --model "$model" --data "$work/data.jsonl" --format gsm8k --task math \
  --template plain --out "$work/scores" --max-length 256 --quiet > /dev/null
run_xtf() {
  XTF_BIN="$xtf" scripts/xtf-mpirun -np 2 train --model "$model" --scores "$work/scores" --mask none --global-batch "$batch" --epochs 1 \
    --lr 1e-4 ${lora:+--lora "$lora"} --out "$work/train-$1" --quiet > /dev/null
}
run_torch() {
  python3 scripts/bench_train_pytorch.py --model-dir "$model" --data "$work/data.jsonl" --records "$records" --batch "$batch" \
    ${lora:+--lora "$lora"} --threads 2 > "$work/torch-$1.json" 2> "$work/torch-$1.log"
}
# Which side runs first swaps every round, so an effect of the order is not in every ratio.
for round in $(seq "$rounds"); do
  if (( round % 2 )); then run_xtf "$round"; run_torch "$round"; else run_torch "$round"; run_xtf "$round"; fi
done
python3 - "$work" "$rounds" "$target" <<'PY'
import json, sys
sys.path.insert(0, "scripts")
from paired_rounds import summary
work, rounds = sys.argv[1], int(sys.argv[2])
xs, ts = [], []
for r in range(1, rounds + 1):
    torch = json.load(open(f"{work}/torch-{r}.json"))
    steps = [json.loads(line) for line in open(f"{work}/train-{r}/losses.jsonl")]
    first = steps[0]
    seconds = steps[-1]["time"] - first["time"] + first["compute"] + first["exposed_communication"] + first["optimizer"]
    xs.append(torch["tokens"] / seconds)
    ts.append(torch["tokens_per_second"])
print(f"{len(steps)} steps, {torch['tokens']} tokens per epoch ({torch['padded_tokens']} with PyTorch's padding)"
      + (f", LoRA {torch['lora']}" if torch["lora"] else ", full fine-tuning"))
print("xtf train -np 2 tokens/s:", ", ".join(f"{v:.0f}" for v in xs))
print("PyTorch 2 threads tokens/s:", ", ".join(f"{v:.0f}" for v in ts))
print(summary(xs, ts, target=float(sys.argv[3])))
PY

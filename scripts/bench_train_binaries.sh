#!/usr/bin/env bash
# Two builds of xtf against each other on `xtf train` -np 2, alternated in one loop (the host's
# speed drifts by tens of percent within minutes, so only alternated rounds compare): the first
# RECORDS GSM8K train records of a real checkpoint (plain template, --max-length 256), scored
# once with BASE (not timed), then one epoch in global batches of BATCH, full fine-tuning or
# LORA. Per round: the epoch's seconds (counted as scripts/bench_train_vs_pytorch.sh counts
# them, from losses.jsonl), the mean optimizer seconds per step, the peak RSS of the largest
# process (GNU time) and the losses; then the medians and their ratio. Needs an idle machine.
#
#   BASE=/tmp/xtf-before NEW=.build/release/xtf scripts/bench_train_binaries.sh
#   BASE=... NEW=... LORA=8,32,q_proj+v_proj ROUNDS=4 scripts/bench_train_binaries.sh
set -euo pipefail
cd "$(dirname "$0")/.."
base=${BASE:?BASE=<xtf binary>}
new=${NEW:-.build/release/xtf}
model=${MODEL:-${XTF_CACHE:-$HOME/.cache/xtf}/smollm2-135m-instruct}
records=${RECORDS:-48}
batch=${BATCH:-8}
rounds=${ROUNDS:-3}
lora=${LORA:-}
work=${WORK:-${TMPDIR:-/tmp}/xtf-bench-train-binaries}
[ -f "$model/model.safetensors" ] || "$new" model import --gguf "$(scripts/fetch_smollm2.sh)" --out "$model" >/dev/null
rm -rf "$work"; mkdir -p "$work"
head -n "$records" ../shared/data/gsm8k/train.jsonl > "$work/data.jsonl"
XTF_BIN="$base" scripts/xtf-mpirun -np 2 score --model "$model" --data "$work/data.jsonl" --format gsm8k --task math \
  --template plain --out "$work/scores" --max-length 256 --quiet > /dev/null
for round in $(seq "$rounds"); do
  for side in base new; do
    bin=$base; [ "$side" = new ] && bin=$new
    out="$work/train-$side-$round"
    /usr/bin/time -f "%M" -o "$out.rss" env XTF_BIN="$bin" scripts/xtf-mpirun -np 2 train --model "$model" --scores "$work/scores" \
      --mask none --global-batch "$batch" --epochs 1 --lr 1e-4 ${lora:+--lora "$lora"} --out "$out" --quiet > /dev/null
    mv "$out/losses.jsonl" "$out.losses.jsonl"; rm -rf "$out"  # checkpoints are large; the timeline is all this needs
  done
done
python3 - "$work" "$rounds" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
seconds = {"base": [], "new": []}
for r in range(1, rounds + 1):
    for side in ("base", "new"):
        steps = [json.loads(line) for line in open(f"{work}/train-{side}-{r}.losses.jsonl")]
        first = steps[0]
        s = steps[-1]["time"] - first["time"] + first["compute"] + first["exposed_communication"] + first["optimizer"]
        seconds[side].append(s)
        rss = int(open(f"{work}/train-{side}-{r}.rss").read().split()[-1]) // 1024
        optimizer = sum(x["optimizer"] for x in steps) / len(steps)
        print(f"round {r} {side}: {s:.1f} s, optimizer {optimizer:.2f} s/step, peak RSS {rss} MiB, losses "
              + " ".join(f"{x['loss']:.6f}" for x in steps))
b, n = statistics.median(seconds["base"]), statistics.median(seconds["new"])
print(f"median seconds: base {b:.1f}, new {n:.1f}: new is {b / n:.2f}x as fast")
PY

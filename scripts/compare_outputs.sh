#!/usr/bin/env bash
# Runs the same small job with two xtf binaries and compares every scoring, masking and
# training file byte for byte: the check that a refactoring changed no output.
#
#   scripts/compare_outputs.sh OLD_XTF NEW_XTF [WORK_DIR]
#
# The job: the ground-truth demo data (seed 1, 240 problems), `xtf score` at -np 2 (which
# masks), `xtf mask` with other rule settings, `xtf train` of the normal and the XTF arm
# (full fine-tuning, checkpoint every 4 steps) and of a LoRA arm, `xtf eval` of one
# checkpoint, and `xtf run` on a small YAML file. Files that record times, hosts or which rank
# took a chunk (progress.jsonl's seconds and rank, environment.json, losses' timings) are
# compared without those fields. run.json (the resolved plan of `xtf run`) is not compared:
# its format is the plan's type, not an output of the computation. Exit status 0 when everything is identical; otherwise the differing files.
set -euo pipefail
cd "$(dirname "$0")/.."
old=$(realpath "$1"); new=$(realpath "$2")
work=${3:-$(mktemp -d)}
mkdir -p "$work"
data="$work/data"
"$old" groundtruth generate --out "$data" --seed 1 --train 240 --test 24 --pretrain 0 >/dev/null

job() {  # job BINARY OUT
  local bin=$1 out=$2
  rm -rf "$out"; mkdir -p "$out"
  local run=(env XTF_BIN="$bin" scripts/xtf-mpirun -np 2)
  "${run[@]}" score --model models/default --data "$data/train.jsonl" --format gsm8k --task math \
    --max-length 256 --records-per-chunk 32 --out "$out/score" --quiet >/dev/null
  mkdir -p "$out/masked"
  cp -r "$out/score/." "$out/masked/"
  "${run[@]}" mask "$out/masked" --attributes ri,kn --tau-kn 0.9 --caps 0.1 0.2 0 --quiet >/dev/null
  for mask in none xtf; do
    "${run[@]}" train --model models/default --scores "$out/score" --mask "$mask" --out "$out/train-$mask" \
      --max-steps 8 --global-batch 8 --lr 1e-3 --checkpoint-every 4 --quiet >/dev/null
  done
  "${run[@]}" train --model models/default --scores "$out/score" --mask xtf --out "$out/train-lora" \
    --max-steps 4 --global-batch 8 --lora 4,16,q_proj+v_proj --quiet >/dev/null
  "${run[@]}" eval --model "$out/train-xtf/checkpoint-00000008" --tokenizer models/default --task gsm8k \
    --data "$data/test.jsonl" --max-new-tokens 40 --out "$out/eval.json" --generations "$out/generations.jsonl" --quiet >/dev/null
  cat >"$out/run.yaml" <<EOF
out: $out/run
model: $PWD/models/default
score: {data: $data/train.jsonl, format: gsm8k, task: math, max-length: 256, records-per-chunk: 32}
train: {max-steps: 4, global-batch: 8, lr: 1e-3}
arms:
  normal: {mask: none}
  xtf: {mask: xtf}
  kn-only: {attributes: kn, tau-kn: 0.9}
eval: {task: gsm8k, data: $data/test.jsonl, max-new-tokens: 40}
groundtruth: {labels: $data/train.jsonl}
EOF
  "${run[@]}" run --config "$out/run.yaml" --quiet >/dev/null
}

# Both jobs run in the same directory (paths are recorded in settings files), then move aside.
rm -rf "$work/old" "$work/new"
job "$old" "$work/job" && mv "$work/job" "$work/old"
job "$new" "$work/job" && mv "$work/job" "$work/new"

# Fields that record when, where or how long: not outputs of the computation.
normalise() {
  python3 - "$1" <<'EOF'
import json, sys
path = sys.argv[1]
drop = {"rank", "seconds", "finished_at", "compute", "exposed_communication", "communication", "optimizer", "elapsed", "hosts"}
def clean(v):
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items() if k not in drop}
    if isinstance(v, list):
        return [clean(x) for x in v]
    return v
text = open(path, "rb").read().decode()
try:
    print(json.dumps(clean(json.loads(text)), sort_keys=True))
except json.JSONDecodeError:
    # Lines sorted: chunks finish in whatever order the ranks take them.
    for line in sorted(json.dumps(clean(json.loads(l)), sort_keys=True) for l in text.splitlines() if l.strip()):
        print(line)
EOF
}

status=0; same=0
cd "$work/old"
while IFS= read -r -d '' f; do
  f=${f#./}
  case "$f" in run.yaml|*/environment.json|*/report.html|*/figures/*|run/manifest.json|run/run.json) continue ;; esac
  if [ ! -f "$work/new/$f" ]; then echo "missing in new: $f"; status=1; continue; fi
  if cmp -s "$f" "$work/new/$f"; then same=$((same + 1)); continue; fi
  case "$f" in
    *progress.jsonl|*losses.jsonl|*timeline.jsonl|*trainer_state.json|*/manifest.json)
      if [ "$(normalise "$f")" = "$(normalise "$work/new/$f")" ]; then same=$((same + 1)); continue; fi ;;
  esac
  echo "differs: $f"; status=1
done < <(find . -type f -print0 | sort -z)
# And what only the new build writes.
cd "$work/new"
while IFS= read -r -d '' f; do
  f=${f#./}
  [ -e "$work/old/$f" ] || { echo "only in new: $f"; status=1; }
done < <(find . -type f -print0 | sort -z)
echo "compare_outputs: $same files identical$([ $status = 0 ] && echo ", no difference" || echo "; differences above") (work: $work)"
exit $status

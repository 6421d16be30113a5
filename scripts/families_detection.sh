#!/usr/bin/env bash
# Issue #17, items 4-5: the mask variants on detection, no training. For each family and data
# seed, the same problems as families.sh (generated on first use), scored once by the embedded
# base model (with the prompt-free pass, for the prompt-gain variants) into DATA/score, then
# every variant of scripts/detection_variants.py measured against the labelled noise.
# Resumable: a scored directory is not scored again. Writes the per-run table and the means
# over runs to docs/results/detection-SEEDS.md (SEEDS as given, e.g. 1-3 where variants are
# chosen, 4-6 held out).
#
# MODEL=DIR scores with another base model into DATA/score-NAME (NAME: the directory's name)
# and writes detection-NAME-....md; TEMPLATE=plain|qwen2|... its prompt template. ALL=1 adds
# the variants tried on data seed 1 only; MAX_LENGTH (default 256) the longest sequence scored;
# TAG=WORD adds -WORD to the file's name (a table of some families beside the one of all).
#
#   DATA_SEEDS="1 2 3" scripts/families_detection.sh        # 18 runs: 22 minutes of variants after the
#                                                           # scoring, on 2 cores shared with a training run
#   MODEL=~/.cache/xtf/smollm2-135m-instruct MAX_LENGTH=512 TEMPLATE=plain FAMILIES="wrong-sum mixed" DATA_SEEDS=1 \
#     scripts/families_detection.sh      # SmolLM2 (scripts/gsm8k_flagged.sh imports it), the plain
#                                         # layout the embedded model is scored with
set -euo pipefail
cd "$(dirname "$0")/.."
families=${FAMILIES:-"mixed dead-end distractor late-fact near-miss wrong-sum"}
data_seeds=${DATA_SEEDS:-"1 2 3"}
np=${NP:-2}
[ -n "${XTF_BIN:-}" ] || { [ -x .build/release/xtf ] || scripts/setup.sh >/dev/null; export XTF_BIN=$PWD/.build/release/xtf; }
source scripts/families_data.sh
model=${MODEL:-models/default}
name=""; [ -z "${MODEL:-}" ] || name=$(basename "$MODEL")
dirs=()
for family in $families; do
  for d in $data_seeds; do
    data=$(family_data "$family" "$d")
    score="$data/score${name:+-$name}"
    if [ ! -f "$score/stats.json" ]; then
      echo "families_detection: scoring $score" >&2
      rm -rf "$score"
      scripts/xtf-mpirun -np "$np" score --model "$model" --template "${TEMPLATE:-plain}" --data "$data/train.jsonl" \
        --format gsm8k --task math --max-length "${MAX_LENGTH:-256}" --records-per-chunk 32 --prompt-free-pcp --out "$score" --quiet >/dev/null
    fi
    dirs+=("$score")
  done
done
seeds=$(echo $data_seeds | tr ' ' '-')
out="docs/results/detection${name:+-$name}${TAG:+-$TAG}${SURFACE:+-s$SURFACE}${RATE:+-r$RATE}-d$seeds.md"
python3 scripts/detection_variants.py ${ALL:+--all} "${dirs[@]}" > "$out.tmp"
mv "$out.tmp" "$out"
echo "families_detection: wrote $out" >&2

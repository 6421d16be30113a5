#!/usr/bin/env bash
# The noise-family experiment (issue #17): for each family, data seed and training seed,
# generate the problems (2,000 noisy training problems with their clean twins, 500 clean
# test problems), then `xtf run --config configs/families.yaml`: arms normal, oracle, clean,
# random and xtf, or the ones ARMS names (comma-separated). Resumable: a run whose summary
# holds every wanted arm is skipped, a stopped run continues, and a run with fewer arms gains
# the missing ones. Each run's summary (arms, exact match, difference to normal with its 95%
# paired-bootstrap interval, the per-item grades) goes to docs/results/FAMILY/sSURFACE-dDATA[-rRATE]-tTRAIN.json,
# which is committed, so a new machine continues where the last one stopped.
#
#   FAMILIES="dead-end distractor late-fact mixed" DATA_SEEDS="1 2 3" TRAIN_SEEDS="1 2" SURFACE=1 scripts/families.sh
#   ARMS=normal,clean,oracle FAMILIES=late-fact TRAIN_SEEDS="1 2 3" scripts/families.sh
#   RATE=0.3 FAMILIES=wrong-sum scripts/families.sh      # another noise rate (default: the family's)
#
# One arm (400 steps, then 500 greedy generations) took about 2 minutes at -np 2 on an idle
# 2-core machine on 2026-12-03; a run of 5 arms about 11 minutes with its scoring.
set -euo pipefail
cd "$(dirname "$0")/.."
families=${FAMILIES:-"dead-end distractor late-fact mixed"}
data_seeds=${DATA_SEEDS:-"1 2 3"}
train_seeds=${TRAIN_SEEDS:-"1 2"}
surface=${SURFACE:-1}
arms=${ARMS:-normal,oracle,clean,random,xtf}
rate=${RATE:-}
np=${NP:-2}
work=${WORK:-runs/families}
# XTF_BIN: a copy of the binary, so that rebuilding the tree during a long run changes nothing.
[ -n "${XTF_BIN:-}" ] || { [ -x .build/release/xtf ] || scripts/setup.sh >/dev/null; export XTF_BIN=$PWD/.build/release/xtf; }
xtf=$XTF_BIN
source scripts/families_data.sh
for family in $families; do
  for d in $data_seeds; do
    name="s$surface-d$d${rate:+-r$rate}"
    data=$(SURFACE=$surface RATE=$rate WORK=$work family_data "$family" "$d")
    for t in $train_seeds; do
      summary="docs/results/$family/$name-t$t.json"
      if [ -f "$summary" ] && python3 -c 'import json, sys
have = {a["arm"] for a in json.load(open(sys.argv[1]))["arms"]}
sys.exit(0 if set(sys.argv[2].split(",")) <= have else 1)' "$summary" "$arms"; then
        echo "families: $summary done"; continue
      fi
      out="$data/t$t"
      echo "families: $family surface $surface data $d train $t -> $out"
      scripts/xtf-mpirun -np "$np" run --config configs/families.yaml --quiet --set out="$out" \
        --set score.data="$data/train.jsonl" --set eval.data="$data/test.jsonl" --set groundtruth.labels="$data/train.jsonl" \
        --set arms.clean.data="$data/train-clean.jsonl" --set train.seed="$t" --arms "$arms" >/dev/null
      mkdir -p "$(dirname "$summary")"
      python3 scripts/families_summary.py "$out" "$family" "$surface" "$d" "$t" "$rate" > "$summary.tmp"
      mv "$summary.tmp" "$summary"
      echo "families: wrote $summary"
    done
  done
done

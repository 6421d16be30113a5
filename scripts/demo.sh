#!/usr/bin/env bash
# README command 1: set up (apt packages, release build), then run the whole job under
# mpirun -np 2 on the embedded default base model (models/default) and data with known,
# harmful noise: generate the early-answer family's problems (the amount so far written under
# the answer marker "####" between steps, labelled, and their clean twins), score and mask
# them, fine-tune normally, on what the paper's rules keep, on what the xtf-plus preset keeps
# and with exactly the noise masked (oracle), evaluate every arm and the base model on clean
# held-out problems, and print the comparison table (differences to normal with paired intervals) and how well each attribute
# found the noise. Outputs: runs/demo (report.md, report.html, manifest.json, ...).
#
#   scripts/demo.sh                                  # NP=2
#   FRESH=1 scripts/demo.sh                          # start over instead of continuing runs/demo
#   scripts/demo.sh --set model=/path/to/hf-model   # any `xtf run` override
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
np=${NP:-2}
[ -z "${FRESH:-}" ] || rm -rf runs/demo runs/demo-data
start=$(date +%s)
echo "== generating the ground-truth data (runs/demo-data)"
.build/release/xtf groundtruth generate --out runs/demo-data --family early-answer --seed 1 --train 2000 --test 200 --pretrain 0
[ ! -d runs/demo ] || echo "(runs/demo exists: finished stages are skipped; FRESH=1 starts over)"
echo "== xtf run --config configs/demo.yaml on $np ranks"
scripts/xtf-mpirun -np "$np" run --config configs/demo.yaml "$@"
echo "== demo done in $(( $(date +%s) - start )) s"
echo "(250 steps at lr 2e-3 and 200 test problems, not docs/RESULTS.md's 400 steps at lr 1e-3 and 500 problems, no clean arm, one data and one training seed;"
echo " docs/RESULTS.md has the runs over data and training seeds, with intervals)"

#!/usr/bin/env bash
# The ground-truth experiment (issue #7): does masking what XTF flags help, on data whose
# noise is known token by token? For each seed: generate the data, then `xtf run` with the
# arms normal, xtf, random (as many tokens as XTF masks), slm (RHO-1, against a reference
# fine-tuned on clean problems) and each attribute alone; every arm is evaluated by exact
# match on clean held-out problems. Writes docs/results/mixed-benchmark.md (tables: mean and standard
# deviation over the seeds; the detection of each attribute; examples).
#
#   scripts/mixed_experiment.sh                 # SEEDS="1 2 3" NP=2 STEPS=400 (62 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${SEEDS:-"1 2 3"}
np=${NP:-2}
steps=${STEPS:-400}
work=${WORK:-runs/experiment}
xtf=.build/release/xtf
[ -x "$xtf" ] || scripts/setup.sh >/dev/null
mkdir -p "$work"
start=$(date +%s)
for seed in $seeds; do
  data="$work/data-$seed"
  [ -f "$data/train.jsonl" ] || "$xtf" groundtruth generate --out "$data" --seed "$seed" --train 2000 --test 300 --pretrain 0
  # The SLM reference: the base model fine-tuned on clean problems (a seed stream of its own).
  clean="$work/clean-$seed"
  [ -f "$clean/train.jsonl" ] || "$xtf" groundtruth generate --out "$clean" --seed $((seed + 1000)) --train 1000 --test 0 \
    --pretrain 0 --noise-rate 0
  reference="$work/reference-$seed"
  if [ ! -f "$reference/losses.jsonl" ]; then
    scripts/xtf-mpirun -np "$np" train --model models/default --data "$clean/train.jsonl" --format gsm8k --mask none \
      --out "$reference" --max-steps "$steps" --global-batch 16 --lr 1e-3 --warmup-steps 10 --seed "$seed" --resume
  fi
  ref_checkpoint=$(ls -d "$reference"/checkpoint-* | sort | tail -1)
  scripts/xtf-mpirun -np "$np" run --config configs/experiment.yaml --set out="$PWD/$work/seed-$seed" \
    --set score.data="$PWD/$data/train.jsonl" --set eval.data="$PWD/$data/test.jsonl" \
    --set groundtruth.labels="$PWD/$data/train.jsonl" --set train.seed="$seed" --set train.max-steps="$steps" \
    --set arms.slm.reference="$PWD/$ref_checkpoint"
  python3 scripts/ri_analysis.py "$work/seed-$seed/score" "$data/train.jsonl" > "$work/seed-$seed/ri-analysis.md"
  python3 scripts/generation_errors.py "$work/seed-$seed" "$data/test.jsonl" > "$work/seed-$seed/generation-errors.md"
done
echo "experiment: $(( $(date +%s) - start )) s"
python3 scripts/mixed_experiment_results.py "$work" docs/results/mixed-benchmark.md $seeds
echo "wrote docs/results/mixed-benchmark.md"

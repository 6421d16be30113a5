#!/usr/bin/env bash
# Regenerates every table of docs/RESULTS.md (issue #17). Resumable at every step: each
# family run's summary is committed under docs/results/ and a finished one is skipped, a
# scored directory is not scored again, so a new machine continues where the last stopped.
#   1. choosing (data seeds 1-3, surface 1, training seeds 1-2): every family at its default
#      noise rate, wrong-sum, late-fact and near-miss at rate 0.3, wrong-sum (training seeds
#      1-3), near-miss and dead-end at rate 0.5; arms normal, oracle, clean, random, xtf
#      (scripts/families.sh); the families that harm by being written (early-answer,
#      headings: added on 2026-12-06, after xtf-plus was frozen) at their default rate 0.5,
#      and at 0.3 and 0.8 on data seed 1 (normal, oracle, clean: the pilot's condition C);
#      the official LoRA protocol's arms on early-answer, data seed 1 (about 5 minutes)
#   2. the mask variants on detection, data seeds 1-3 (scripts/families_detection.sh): where
#      the preset xtf-plus was chosen; and with SmolLM2's scores of wrong-sum and mixed
#      (about an hour)
#   3. held out (never looked at while choosing): data seeds 4-6 of surface 1 and seeds 1-2 of
#      surface 2, training seeds 1-2, arms normal, oracle, clean, xtf, xtf-plus (and wrong-sum
#      at rate 0.3 on seeds 4-6, mixed at 0.3 on seed 5: training seed 1); and the variants on
#      their detection. The written-harm families are held out as a whole for
#      xtf-plus (frozen before they existed).
#   4. what the paper's rules flag on GSM8K, embedded model and SmolLM2 (scripts/gsm8k_flagged.sh)
#   5. the tables pasted into docs/RESULTS.md (scripts/families_readme.py)
# On 2 cores: about 11 minutes per family run of five arms on the earlier machines, 6.3-7.4 on
# the Emerald Rapids ones (the gaps between the report.json times of five successive held-out
# runs, 2026-12-06 07:32-08:06, idle), so the first round's grid (75 choosing runs, 60
# held-out runs) and the written-harm families' (20 choosing, 20 held-out, 8 at other rates),
# about 180 runs, take about 21 hours there (33 at 11 minutes); steps 2, 4 and 5 take under an
# hour (stage 3's detection of the written-harm families with the scores already made: 7m47s,
# `time STAGES=3 FAMILIES="early-answer headings" scripts/experiment.sh` with every run done),
# plus about 20 minutes of SmolLM2 scoring per family and data seed. STAGES
# picks steps (default "1 2 3 4 5"); FAMILIES, NP, XTF_BIN as in families.sh.
#
#   scripts/experiment.sh
#   STAGES="2 5" scripts/experiment.sh          # only the detection tables and the paste
set -euo pipefail
cd "$(dirname "$0")/.."
stages=${STAGES:-"1 2 3 4 5"}
harmful="dead-end distractor late-fact near-miss wrong-sum"
written="early-answer headings"
families=${FAMILIES:-"mixed $harmful $written"}
# The families of this run that are in the list (FAMILIES narrows every stage).
only() { local out=""; for f in $1; do case " $families " in *" $f "*) out="$out $f";; esac; done; echo $out; }
[ -n "${XTF_BIN:-}" ] || { [ -x .build/release/xtf ] || scripts/setup.sh >/dev/null; export XTF_BIN=$PWD/.build/release/xtf; }
start=$(date +%s)
has() { case " $stages " in *" $1 "*) return 0;; *) return 1;; esac; }

if has 1; then
  FAMILIES="$families" DATA_SEEDS="1 2 3" TRAIN_SEEDS="1 2" scripts/families.sh
  RATE=0.3 FAMILIES="wrong-sum late-fact near-miss" DATA_SEEDS="1 2 3" TRAIN_SEEDS="1 2" scripts/families.sh
  RATE=0.5 FAMILIES="wrong-sum near-miss dead-end" DATA_SEEDS="1 2 3" TRAIN_SEEDS="1 2" scripts/families.sh
  RATE=0.5 FAMILIES="wrong-sum" DATA_SEEDS="1 2 3" TRAIN_SEEDS="3" scripts/families.sh
  if [ -n "$(only "$written")" ]; then
    for rate in 0.3 0.8; do
      ARMS=normal,oracle,clean RATE=$rate FAMILIES="$(only "$written")" DATA_SEEDS=1 TRAIN_SEEDS="1 2" scripts/families.sh
    done
  fi
  # The official code's LoRA protocol (docs/METHOD.md section 6, row 11).
  [ -z "$(only early-answer)" ] || ARMS=normal-lora,oracle-lora,xtf-lora FAMILIES=early-answer DATA_SEEDS=1 TRAIN_SEEDS=1 scripts/families.sh
fi
if has 2; then
  # An empty FAMILIES would mean families_detection.sh's default list: each call runs only if it has some.
  [ -z "$(only "mixed $harmful")" ] || FAMILIES="$(only "mixed $harmful")" DATA_SEEDS="1 2 3" scripts/families_detection.sh
  [ -z "$(only "$written")" ] || TAG=written FAMILIES="$(only "$written")" DATA_SEEDS="1 2 3" scripts/families_detection.sh
  # A real base model's attributes (SmolLM2, imported by scripts/gsm8k_flagged.sh's recipe).
  smollm2="${XTF_CACHE:-$HOME/.cache/xtf}/smollm2-135m-instruct"
  [ -f "$smollm2/model.safetensors" ] || "$XTF_BIN" model import --gguf "$(scripts/fetch_smollm2.sh)" --out "$smollm2" >/dev/null
  [ -z "$(only "wrong-sum mixed")" ] || MODEL="$smollm2" MAX_LENGTH=512 TEMPLATE=plain FAMILIES="$(only "wrong-sum mixed")" \
    DATA_SEEDS=1 scripts/families_detection.sh
  [ -z "$(only "$written")" ] || MODEL="$smollm2" MAX_LENGTH=512 TEMPLATE=plain TAG=written FAMILIES="$(only "$written")" \
    DATA_SEEDS=1 scripts/families_detection.sh
fi
if has 3; then
  held_out=normal,oracle,clean,xtf,xtf-plus
  ARMS=$held_out FAMILIES="$families" DATA_SEEDS="4 5 6" TRAIN_SEEDS="1 2" scripts/families.sh
  ARMS=$held_out SURFACE=2 FAMILIES="$families" DATA_SEEDS="1 2" TRAIN_SEEDS="1 2" scripts/families.sh
  # The rate where wrong-sum came closest to the pilot rule (section "Held out"), and the control there.
  [ -z "$(only wrong-sum)" ] || ARMS=$held_out RATE=0.3 FAMILIES=wrong-sum DATA_SEEDS="4 5 6" TRAIN_SEEDS=1 scripts/families.sh
  [ -z "$(only mixed)" ] || ARMS=$held_out RATE=0.3 FAMILIES=mixed DATA_SEEDS=5 TRAIN_SEEDS=1 scripts/families.sh
  # Detection in two tables, as in stage 2: the first round's families, and the written-harm ones.
  for held in "4 5 6:" "1 2:2"; do
    [ -z "$(only "mixed $harmful")" ] || FAMILIES="$(only "mixed $harmful")" SURFACE=${held#*:} DATA_SEEDS="${held%:*}" \
      scripts/families_detection.sh
    [ -z "$(only "$written")" ] || TAG=written FAMILIES="$(only "$written")" SURFACE=${held#*:} DATA_SEEDS="${held%:*}" \
      scripts/families_detection.sh
  done
fi
has 4 && scripts/gsm8k_flagged.sh
if has 5; then
  table=$(mktemp); trap 'rm -f "$table"' EXIT
  python3 scripts/families_results.py > "$table"
  python3 scripts/families_readme.py families_results.py "$table"
  python3 scripts/families_pilot.py > "$table"
  python3 scripts/families_readme.py families_pilot.py "$table"
  python3 scripts/families_readme.py --after "| family | noise rate | A:" "families_pilot.py verdicts" "$table"
  # The held-out sections' own tables: the same rows, one family group at a time.
  for pair in "wrong-sum held out:--family wrong-sum" "mixed held out:--family mixed" \
    "written held out:--family early-answer --family headings"; do
    python3 scripts/families_results.py ${pair#*:} --held-out > "$table"
    python3 scripts/families_readme.py "${pair%%:*}" "$table"
  done
  for seeds in d1-2-3 d4-5-6 s2-d1-2; do
    file=docs/results/detection-$seeds.md
    [ -f "$file" ] || { echo "experiment: $file missing (stage 2 or 3 not run): its tables are not refreshed" >&2; continue; }
    python3 scripts/families_readme.py --after "Means over" "detection $seeds means" "$file"
  done
  python3 scripts/families_readme.py --after "Each attribute" "detection d1-2-3 attributes" docs/results/detection-d1-2-3.md
  python3 scripts/families_readme.py --after "Means over" "detection smollm2 means" docs/results/detection-smollm2-135m-instruct-d1.md
  for pair in "written d1-2-3:detection-written-d1-2-3" "smollm2 written:detection-smollm2-135m-instruct-written-d1" \
    "written d4-5-6:detection-written-d4-5-6" "written s2-d1-2:detection-written-s2-d1-2"; do
    file=docs/results/${pair#*:}.md
    [ -f "$file" ] || { echo "experiment: $file missing (stage 2 or 3 not run): its tables are not refreshed" >&2; continue; }
    python3 scripts/families_readme.py --after "Means over" "detection ${pair%%:*} means" "$file"
    python3 scripts/families_readme.py --after "Each attribute" "detection ${pair%%:*} attributes" "$file"
  done
fi
echo "experiment: stages $stages in $(( $(date +%s) - start )) s" >&2

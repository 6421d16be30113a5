#!/usr/bin/env python3
"""One finished `xtf run` of scripts/families.sh as a small JSON summary (a comparison script:
it only reads what xtf wrote): per arm its mask, steps, tokens with a loss, exact match, the
difference to normal with its 95% paired-bootstrap interval, the per-item grades as a
string of 0/1 (so intervals over pooled seeds can be recomputed without the run directory),
and how many of its generations write the answer marker early (earlyMarkers, below); the
detection table of the scoring run. `xtf run` reports every arm of its directory, so a
run given more arms later (ARMS in families.sh) is summarised whole.

    scripts/families_summary.py RUN_DIR FAMILY SURFACE DATA_SEED TRAIN_SEED [NOISE_RATE]
"""
import json
import os
import sys


def early_marker(output):
    """The first "####" is anywhere but at the start of the last line (where the answer goes):
    before a later line, or inside a line that something else starts, as in a solution that
    stops without its answer line. The written-harm families' mechanism: the grader takes the
    number after the first "####"."""
    output = output.rstrip()
    first = output.find("####")
    last_line = output.rfind("\n") + 1
    return first >= 0 and (first < last_line or output[last_line:first].strip() != "")


run, family, surface, data_seed, train_seed = sys.argv[1:6]
noise_rate = float(sys.argv[6]) if len(sys.argv) > 6 and sys.argv[6] else None  # None: the family's default
report = json.load(open(os.path.join(run, "report.json")))
arms = []
for row in report:
    name = row["arm"]
    generations = os.path.join(run, "base-generations.jsonl" if name == "base" else f"arms/{name}/generations.jsonl")
    grades, early = "", None
    if os.path.exists(generations):
        items = sorted((json.loads(line) for line in open(generations)), key=lambda g: g["index"])
        grades = "".join("1" if g["correct"] else "0" for g in items)
        early = sum(1 for g in items if early_marker(g["output"]))
    arms.append({k: row.get(k) for k in ("arm", "mask", "steps", "tokens", "finalLoss", "metric", "difference", "interval")}
                | {"grades": grades, "earlyMarkers": early})
detection = None
path = os.path.join(run, "detection.json")
if os.path.exists(path):
    detection = json.load(open(path))
summary = {"family": family, "surface": int(surface), "dataSeed": int(data_seed), "trainSeed": int(train_seed),
           "arms": arms, "detection": detection}
if noise_rate is not None:
    summary["noiseRate"] = noise_rate
print(json.dumps(summary, indent=1, sort_keys=True))

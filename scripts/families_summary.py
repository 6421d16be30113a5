#!/usr/bin/env python3
"""One finished `xtf run` of scripts/families.sh as a small JSON summary (a comparison script:
it only reads what xtf wrote): per arm its mask, steps, tokens with a loss, exact match, the
difference to normal with its 95% paired-bootstrap interval, and the per-item grades as a
string of 0/1 (so intervals over pooled seeds can be recomputed without the run directory);
the detection table of the scoring run. With --previous SUMMARY (the run's summary from an
earlier invocation that ran other arms), the arms it holds and this report lacks are kept:
`xtf run --arms` reports only the arms it was asked for.

    scripts/families_summary.py [--previous SUMMARY] RUN_DIR FAMILY SURFACE DATA_SEED TRAIN_SEED [NOISE_RATE]
"""
import json
import os
import sys



def merged(previous, summary):
    """The earlier summary's arms, each replaced in place by this report's row of the same
    name, then the arms new here. A kept arm's grades were paired with the earlier normal
    arm, so a normal arm whose grades changed (a rerun on other kernels) is refused; a row
    whose difference this report could not compute (normal not among its arms) keeps the
    earlier one when its grades are the same."""
    for key in ("family", "surface", "dataSeed", "trainSeed"):
        if previous.get(key) != summary[key]:
            sys.exit(f"families_summary: --previous is another run ({key} {previous.get(key)!r}, not {summary[key]!r})")
    if previous.get("noiseRate") != summary.get("noiseRate"):
        sys.exit("families_summary: --previous is another run (its noise rate differs)")
    new = {a["arm"]: a for a in summary["arms"]}
    kept = [a["arm"] for a in previous["arms"] if a["arm"] not in new]
    old = {a["arm"]: a for a in previous["arms"]}
    if kept and "normal" in old and "normal" in new and old["normal"]["grades"] != new["normal"]["grades"]:
        sys.exit(f"families_summary: the normal arm's grades changed, so the kept arms ({', '.join(kept)}) "
                 "would be compared with another run: rerun them too (ARMS)")
    arms = []
    for a in previous["arms"]:
        row = new.pop(a["arm"], a)
        if row is not a and row.get("difference") is None and row["grades"] == a["grades"]:
            row = row | {"difference": a.get("difference"), "interval": a.get("interval")}
        arms.append(row)
    arms += new.values()
    return summary | {"arms": arms, "detection": summary["detection"] or previous.get("detection")}


args = sys.argv[1:]
previous = None
if args[:1] == ["--previous"]:
    previous = json.load(open(args[1]))
    args = args[2:]
run, family, surface, data_seed, train_seed = args[:5]
noise_rate = float(args[5]) if len(args) > 5 and args[5] else None  # None: the family's default
report = json.load(open(os.path.join(run, "report.json")))
arms = []
for row in report:
    name = row["arm"]
    generations = os.path.join(run, "base-generations.jsonl" if name == "base" else f"arms/{name}/generations.jsonl")
    grades = ""
    if os.path.exists(generations):
        items = sorted((json.loads(line) for line in open(generations)), key=lambda g: g["index"])
        grades = "".join("1" if g["correct"] else "0" for g in items)
    arms.append({k: row.get(k) for k in ("arm", "mask", "steps", "tokens", "finalLoss", "metric", "difference", "interval")} | {"grades": grades})
detection = None
path = os.path.join(run, "detection.json")
if os.path.exists(path):
    detection = json.load(open(path))
summary = {"family": family, "surface": int(surface), "dataSeed": int(data_seed), "trainSeed": int(train_seed),
           "arms": arms, "detection": detection}
if noise_rate is not None:
    summary["noiseRate"] = noise_rate
if previous is not None:
    summary = merged(previous, summary)
print(json.dumps(summary, indent=1, sort_keys=True))

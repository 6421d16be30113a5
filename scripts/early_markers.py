#!/usr/bin/env python3
"""How often each arm of a families run writes the answer marker "####" before its last line:
the written-harm families' mechanism (the grader takes the number after the first "####").
Reads RUN/arms/ARM/generations.jsonl of `xtf run` directories (not committed). A comparison script.

    scripts/early_markers.py RUN_DIR...     # e.g. runs/families/early-answer/s1-d*/t*; prints Markdown
"""
import glob
import json
import os
import sys


def main():
    print("| run | arm | generations | marker before the last line | exact match |")
    print("| --- | --- | ---: | ---: | ---: |")
    for run in sys.argv[1:]:
        for path in sorted(glob.glob(os.path.join(run, "arms", "*", "generations.jsonl"))):
            rows = [json.loads(line) for line in open(path)]
            early = sum(1 for r in rows if 0 <= r["output"].find("####") < r["output"].rfind("\n"))
            correct = sum(1 for r in rows if r["correct"])
            arm = os.path.basename(os.path.dirname(path))
            print(f"| {run} | {arm} | {len(rows)} | {early} | {correct / len(rows):.3f} |")


if __name__ == "__main__":
    main()

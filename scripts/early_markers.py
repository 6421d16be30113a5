#!/usr/bin/env python3
"""How often each arm of a families run writes the answer marker "####" anywhere but at the
start of its last line: the written-harm families' mechanism (the grader takes the number
after the first "####").
Reads RUN/arms/ARM/generations.jsonl of `xtf run` directories (not committed). A comparison script.

    scripts/early_markers.py RUN_DIR...     # e.g. runs/families/early-answer/s1-d*/t*; prints Markdown
"""
import glob
import json
import os
import sys


def early_marker(output):
    """The first "####" is anywhere but at the start of the last line (where the answer goes):
    before a later line, or inside a line that something else starts, as in a solution that
    stops without its answer line."""
    output = output.rstrip()
    first = output.find("####")
    last_line = output.rfind("\n") + 1
    return first >= 0 and (first < last_line or output[last_line:first].strip() != "")


def main():
    print("| run | arm | generations | first #### not at the start of the last line | exact match |")
    print("| --- | --- | ---: | ---: | ---: |")
    for run in sys.argv[1:]:
        for path in sorted(glob.glob(os.path.join(run, "arms", "*", "generations.jsonl"))):
            rows = [json.loads(line) for line in open(path)]
            early = sum(1 for r in rows if early_marker(r["output"]))
            correct = sum(1 for r in rows if r["correct"])
            arm = os.path.basename(os.path.dirname(path))
            print(f"| {run} | {arm} | {len(rows)} | {early} | {correct / len(rows):.3f} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""How each arm's greedy solutions chain their steps (a comparison script over an `xtf run`
directory of the ground-truth problems): exact match, the share of outputs that contain a
given noise opening, and how often the second equation does not start from the first one's
result (a model that lost track of the running amount), how often the "#### N" answer is
not the last equation's result (a model that lost it on the way to the answer line), and how
often the solution's first number is not the question's (a model that miscopied the start).

    scripts/chain_errors.py RUN_DIR [OPENING]      # OPENING default "Also,"
"""
import json
import os
import re
import sys

run = sys.argv[1]
opening = sys.argv[2] if len(sys.argv) > 2 else "Also,"
step = re.compile(r"so (\d+) ([-+*]) (\d+) = (\d+)")
print(f"| arm | exact match | outputs with \"{opening}\" | second step not from the first's result | answer not the last step's result | first number not the question's |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
number = re.compile(r"\d+")
for arm in sorted(os.listdir(os.path.join(run, "arms"))):
    path = os.path.join(run, "arms", arm, "generations.jsonl")
    if not os.path.exists(path):
        continue
    rows = [json.loads(line) for line in open(path)]
    chains = broken = answered = lost = miscopied = 0
    for r in rows:
        first, given = number.search(r["output"]), number.search(r["prompt"])
        miscopied += bool(first and given and first.group() != given.group())
        steps = step.findall(r["output"].split("\n")[0])
        if len(steps) >= 2:
            chains += 1
            broken += steps[1][0] != steps[0][3]
        if steps and r.get("predicted") is not None:
            answered += 1
            lost += r["predicted"] != steps[-1][3]
    print(f"| {arm} | {sum(r['correct'] for r in rows) / len(rows):.3f} | {sum(opening in r['output'] for r in rows) / len(rows):.2f} | {broken}/{chains} | {lost}/{answered} | {miscopied}/{len(rows)} |")

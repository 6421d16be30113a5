#!/usr/bin/env python3
"""Where the fine-tuned models go wrong on the ground-truth benchmark: for each arm of an
`xtf run` directory, how many generated solutions compute exactly the reference's equations
(the right operations on the right amounts: the question was read correctly), how many of
their equations are false, and how many answers are right.

    scripts/generation_errors.py RUN_DIR TEST_JSONL
"""
import json
import os
import re
import sys

EQUATION = re.compile(r"(\d+) ([-+*]) (\d+) = (\d+)")


def main(run, test):
    problems = [json.loads(line) for line in open(test)]
    print("| arm | exact match | the reference's equations | equations written | false equations |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for arm in sorted(os.listdir(os.path.join(run, "arms"))):
        path = os.path.join(run, "arms", arm, "generations.jsonl")
        if not os.path.exists(path):
            continue
        generations = [json.loads(line) for line in open(path)]
        restated = equations = wrong = 0
        for g in generations:
            reference = problems[g["index"]]["answer"].split("\n")[0]
            solution = g["output"].split("\n")[0]
            restated += EQUATION.findall(solution) == EQUATION.findall(reference)
            for a, op, b, c in EQUATION.findall(solution):
                equations += 1
                wrong += {"+": int(a) + int(b), "-": int(a) - int(b), "*": int(a) * int(b)}[op] != int(c)
        correct = sum(g["correct"] for g in generations)
        n = len(generations)
        print(f"| {arm} | {correct / n:.3f} | {restated / n:.3f} | {equations} | {wrong / max(1, equations):.3f} |")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

#!/usr/bin/env python3
"""How often a mask reaches the answer line: for each sample of a scored (and masked) run, whether
the newline that opens its last line ("\\n#### N"), the "####" marker after it, or any of its tokens
is masked. A mask that removes these from the loss teaches the model not to write the answer it is
graded on. Reads RUN/tokens.jsonl (`xtf score` / `xtf mask`). A comparison script.

    scripts/answer_line_masked.py RUN_DIR...     # prints Markdown, one row per run
"""
import json
import os
import sys


def is_newline(token):
    return token in ("\n", "\\n") or token.endswith("\\n") or token.endswith("\n")


def main():
    print("| run | samples | newline masked | #### masked | any answer-line token masked |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for run in sys.argv[1:]:
        samples = newline = marker = any_token = 0
        for line in open(os.path.join(run, "tokens.jsonl")):
            record = json.loads(line)
            tokens, flags = record["tokens"], record["flags"]
            opens = [i for i, t in enumerate(tokens) if is_newline(t)]
            if not opens:
                continue
            samples += 1
            start = opens[-1]
            newline += bool(flags[start])
            marker += any(flags[i] for i in range(start + 1, len(tokens)) if "####" in tokens[i])
            any_token += any(flags[i] for i in range(start, len(tokens)))
        share = lambda k: f"{k} ({k / samples:.0%})" if samples else "0"
        print(f"| {run} | {samples} | {share(newline)} | {share(marker)} | {share(any_token)} |")


if __name__ == "__main__":
    main()

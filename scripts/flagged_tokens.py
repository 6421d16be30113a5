#!/usr/bin/env python3
"""Issue #17, item 6: which tokens the rules flag on real data. For each scored run directory
(tokens.jsonl), per attribute and for the union: the share of response tokens flagged, the
share of flagged tokens that are digits or number pieces, and the most flagged token texts
with their counts and the share of that text's occurrences flagged. Prints Markdown.

    scripts/flagged_tokens.py [--top N] LABEL=RUN_DIR...
"""
import argparse, collections, json, os

def is_number_piece(text):
    t = text.strip()
    return t != "" and all(c.isdigit() or c in ".,$" for c in t) and any(c.isdigit() for c in t)

def shown(text):
    return "`" + text.replace("\n", "\\n").replace("`", "'").replace("|", "\\|").replace(" ", "␣") + "`"

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("runs", nargs="+")
    args = parser.parse_args()
    for entry in args.runs:
        label, run = entry.split("=", 1)
        occurrences = collections.Counter()
        flagged = {a: collections.Counter() for a in ("ri", "kn", "tr", "union")}
        samples = 0
        for line in open(os.path.join(run, "tokens.jsonl")):
            record = json.loads(line)
            samples += 1
            for text, flags in zip(record["tokens"], record["flags"]):
                occurrences[text] += 1
                fired = set(filter(None, flags.replace(",", "+").split("+")))
                for a in fired:
                    flagged[a][text] += 1
                if fired:
                    flagged["union"][text] += 1
        total = sum(occurrences.values())
        print(f"### {label}\n")
        print(f"{samples} samples, {total} response tokens (`{run}`).\n")
        print("| rule | flagged share | digits among flagged | most flagged (count, share of that token's occurrences) |")
        print("| --- | ---: | ---: | --- |")
        for a in ("ri", "kn", "tr", "union"):
            n = sum(flagged[a].values())
            digits = sum(c for t, c in flagged[a].items() if is_number_piece(t))
            top = ", ".join(f"{shown(t)} {c} ({c / occurrences[t]:.0%})" for t, c in flagged[a].most_common(args.top))
            print(f"| {a} | {n / total if total else 0:.3f} | {digits / n if n else 0:.2f} | {top} |")
        print()

main()

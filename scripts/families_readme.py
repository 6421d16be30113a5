#!/usr/bin/env python3
"""Refreshes the tables of docs/RESULTS.md: each `<!-- NAME output, pasted -->` marker is
followed by a table (up to the next blank line), replaced here by the table in a file (its
first table, or with --after TEXT the first table after a line starting with TEXT). A
comparison script: it edits one Markdown file.

    scripts/families_readme.py [--after TEXT] MARKER_NAME TABLE_FILE [RESULTS_MD]
    python3 scripts/families_results.py > /tmp/t.md && scripts/families_readme.py families_results.py /tmp/t.md
"""
import argparse
import os


def first_table(lines, after=None):
    start = 0
    if after is not None:
        start = next(i for i, line in enumerate(lines) if line.startswith(after))
    begin = next(i for i in range(start, len(lines)) if lines[i].startswith("|"))
    end = begin
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return lines[begin:end]


parser = argparse.ArgumentParser()
parser.add_argument("--after")
parser.add_argument("name")
parser.add_argument("table_file")
parser.add_argument("results", nargs="?", default="docs/RESULTS.md")
args = parser.parse_args()
marker = f"<!-- {args.name} output, pasted -->"
lines = open(args.results).read().split("\n")
start = lines.index(marker) + 1
end = start
while end < len(lines) and lines[end].strip():
    end += 1
lines[start:end] = first_table(open(args.table_file).read().split("\n"), args.after)
tmp = args.results + ".tmp"
with open(tmp, "w") as f:
    f.write("\n".join(lines))
os.replace(tmp, args.results)

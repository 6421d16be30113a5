#!/usr/bin/env python3
"""Refreshes the tables of docs/results/README.md: each `<!-- NAME output, pasted -->` marker
is followed by a table (up to the next blank line), replaced here by the table given in a
file. A comparison script: it edits one Markdown file.

    scripts/families_readme.py MARKER_NAME TABLE_FILE [README]
    python3 scripts/families_results.py > /tmp/t.md && scripts/families_readme.py families_results.py /tmp/t.md
"""
import os
import sys

name, table_file = sys.argv[1:3]
readme = sys.argv[3] if len(sys.argv) > 3 else "docs/results/README.md"
marker = f"<!-- {name} output, pasted -->"
lines = open(readme).read().split("\n")
start = lines.index(marker) + 1
end = start
while end < len(lines) and lines[end].strip():
    end += 1
table = open(table_file).read().strip("\n").split("\n")
lines[start:end] = table
tmp = readme + ".tmp"
with open(tmp, "w") as f:
    f.write("\n".join(lines))
os.replace(tmp, readme)

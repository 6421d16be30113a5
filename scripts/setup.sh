#!/usr/bin/env bash
# Sets up a machine for xtf and builds it in release mode. Idempotent: installs Debian's
# Open MPI, OpenBLAS and zlib only when they are missing, and an up-to-date build does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libopenmpi-dev openmpi-bin libopenblas-dev zlib1g-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v swift >/dev/null || { [ -x /opt/swift/usr/bin/swift ] && export PATH=/opt/swift/usr/bin:$PATH; }
command -v swift >/dev/null || { echo "setup: the Swift toolchain is not on PATH" >&2; exit 1; }

# Only the product `xtf` (not the test bench or the fuzzer: README command 1's time is mostly
# this build). XTF_BUILD_TESTS=1 (scripts/test.sh) builds everything with the test bundle, in
# the same configuration, so `swift test --skip-build` runs it without compiling again.
build=(swift build -c release --product xtf)
what="release"
if [ "${XTF_BUILD_TESTS:-0}" = 1 ]; then build=(swift build -c release --build-tests); what="release, with tests"; fi
echo "setup: building xtf ($what)"
log="$(mktemp)"
if ! "${build[@]}" >"$log" 2>&1; then
  cat "$log" >&2; rm -f "$log"
  echo "setup: the release build failed" >&2
  exit 1
fi
rm -f "$log"
echo "setup: built $(swift build -c release --show-bin-path)/xtf"

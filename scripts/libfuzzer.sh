#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, with the address sanitizer) of a reader of hostile input:
#
#   scripts/libfuzzer.sh chat-template [SECONDS]     # the Jinja engine: a template rendered on a conversation
#   scripts/libfuzzer.sh dataset [SECONDS]           # the dataset reader: a file read in every format
#   scripts/libfuzzer.sh config|safetensors|gguf|tokenizer [SECONDS]   # config.json, the weight files, tokenizer.json
#
# Builds xtf-fuzz with -sanitize=fuzzer,address into .build-fuzz, starts from
# Tests/Fuzzers/Corpus/TARGET (or the test fixtures of the target's kind of file), writes new
# interesting inputs to .build-fuzz/corpus-TARGET, and a crash, hang or leak to .build-fuzz/
# (crash-*, timeout-*, leak-*). Copy such an input into Tests/Fuzzers/Corpus/TARGET once fixed:
# FuzzRegressionTests replays every file there in each test run.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/libfuzzer.sh chat-template|dataset|config|safetensors|gguf|tokenizer [SECONDS]}
seconds=${2:-600}
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
swift build -c release --product xtf-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -parse-as-library >/dev/null
mkdir -p ".build-fuzz/corpus-$target"
# Seeds: the target's regression corpus, or the test fixtures of its kind of file.
case "$target" in
  safetensors) seeds=../Tests/ModelTests/Fixtures/phi3-tiny ;;
  gguf) seeds=../Tests/GGUFTests/Fixtures/converted ;;
  chat-template) seeds=../Tests/ChatTemplateTests/Fixtures/templates ;;
  tokenizer) seeds=../Tests/TokenizerTests/Fixtures/converted ;;
  *) seeds="../Tests/Fuzzers/Corpus/$target" ;;
esac
cd .build-fuzz
XTF_FUZZ_TARGET="$target" ./release/xtf-fuzz "corpus-$target" "$seeds" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=1048576 -print_final_stats=1

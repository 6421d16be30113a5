#!/usr/bin/env python3
r"""Converts a tiny Hugging Face fixture to GGUF with llama.cpp's own converter
(convert_hf_to_gguf.py), so that `xtf model import --gguf` is tested against the real
converter's tensor names, row orders, norm offsets and metadata, for every architecture. Run
ONCE by hand (never by the suite: the converter needs torch); the .gguf files are committed.

    curl -sSL -o /tmp/lcp.tar.gz https://files.pythonhosted.org/packages/ec/e9/e7de2b0463ea3ffbf0ede6cb21b58c1258a8f6521aae45ca773a59fe7cf3/llama_cpp_python-0.3.36.tar.gz
    tar xzf /tmp/lcp.tar.gz -C /tmp            # llama.cpp is vendored in the sdist
    python3 scripts/make_gguf_fixture.py --llama-cpp /tmp/llama_cpp_python-0.3.36/vendor/llama.cpp \
        --fixture Tests/ModelTests/Fixtures/qwen3-tiny --out Tests/GGUFTests/Fixtures/converted/qwen3-tiny.gguf
    (every command: Tests/GGUFTests/Fixtures/README.md)

The fixtures have no tokenizer, which the converter insists on: the copy it converts gets a
byte-level BPE of 248 bytes (GPT-2's byte-to-unicode map) and 8 merges; the converter pads
the vocabulary to the config's size with [PADn] tokens. Its pre-tokenizer check hashes a
tokenizer it has never seen, so that one function is told "gpt-2". Weights stay f32, so the
import must reproduce the fixture's model.safetensors (up to the converter's own arithmetic,
e.g. Gemma's norm + 1).
"""
import argparse
import json
import os
import shutil
import sys
import tempfile


def byte_level_tokenizer():
    """tokenizer.json of a byte-level BPE of 256 tokens: 248 bytes (all but 8 rarely used
    control bytes) and 8 merges (a GGUF byte-level vocabulary must have merges)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    vocab = {chr(c): i for i, c in enumerate(cs[:248])}
    merges = [("Ġ", "t"), ("h", "e"), ("i", "n"), ("e", "r"), ("a", "n"), ("o", "n"), ("Ġ", "a"), ("r", "e")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-cpp", required=True, help="a llama.cpp source tree (convert_hf_to_gguf.py, gguf-py, conversion/)")
    ap.add_argument("--fixture", required=True, help="a tiny HF checkpoint directory")
    ap.add_argument("--out", required=True, help="the .gguf to write")
    ap.add_argument("--sentencepiece", help="a SentencePiece tokenizer.model for the architectures whose converter wants one (gemma2, phi3)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as work:
        for name in ["config.json", "model.safetensors", "generation_config.json"]:
            if os.path.exists(os.path.join(args.fixture, name)):
                shutil.copy(os.path.join(args.fixture, name), work)
        if args.sentencepiece:
            shutil.copy(args.sentencepiece, os.path.join(work, "tokenizer.model"))
        else:
            with open(os.path.join(work, "tokenizer.json"), "w") as f:
                json.dump(byte_level_tokenizer(), f)
        with open(os.path.join(work, "tokenizer_config.json"), "w") as f:
            json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 256}, f)

        sys.path.insert(0, args.llama_cpp)
        sys.path.insert(1, os.path.join(args.llama_cpp, "gguf-py"))
        import conversion.base
        conversion.base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "gpt-2"
        import convert_hf_to_gguf
        partial = args.out + ".partial"
        sys.argv = ["convert_hf_to_gguf.py", work, "--outtype", "f32", "--outfile", partial,
                    "--model-name", os.path.basename(os.path.normpath(args.fixture))]
        convert_hf_to_gguf.main()
        os.replace(partial, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

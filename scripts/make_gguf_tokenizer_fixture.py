#!/usr/bin/env python3
"""Writes Tests/GGUFTests/Fixtures/smollm2-tokenizer-ids.json, run ONCE by hand (not by the suite):
the ids that transformers' own GGUF tokenizer conversion (transformers.integrations.gguf, an
implementation independent of xtf's) gives for SmolLM2-135M-Instruct's GGUF metadata.

    pip install transformers gguf          # needs no torch for this
    python3 scripts/make_gguf_tokenizer_fixture.py "$(scripts/fetch_smollm2.sh)" ../shared \\
        Tests/GGUFTests/Fixtures/smollm2-tokenizer-ids.json

Texts: the first 40 GSM8K test questions and answers, the torture set of
scripts/tokenizer_parity.py, and chat-formatted text with the model's special tokens.

The reference is transformers' vocabulary, merges and added tokens with the pre-tokenizer
llama.cpp uses for `tokenizer.ggml.pre` "smollm" (each \\p{N} character alone, then GPT-2's
split), which is also SmolLM2's own tokenizer.json (Digits(individual_digits) + ByteLevel).
transformers gives "smollm" files GPT-2's split alone; the texts where that gives other ids
(numbers in other scripts, such as "١٢٣") are listed in the fixture's "gpt2_split_differs".
"""
import json
import os
import sys

from gguf import GGUFReader
from tokenizers import Tokenizer, pre_tokenizers
from transformers.integrations.gguf.gguf_tokenizer_mapping import GGUF_TOKENIZER_MAPPING, convert_gguf_tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tokenizer_parity import torture  # noqa: E402


def main(gguf_path, shared, out_path):
    reader = GGUFReader(gguf_path)
    meta = {key: field.contents() for key, field in reader.fields.items()}
    # transformers' get_gguf_tokenizer reads the file with torch; the same dictionary from gguf-py.
    tokenizer_dict = {name: meta["tokenizer." + key] for key, name in GGUF_TOKENIZER_MAPPING["tokenizer"].items()
                      if "tokenizer." + key in meta}
    reference, _ = convert_gguf_tokenizer(meta["general.architecture"], tokenizer_dict)
    digits_first = Tokenizer.from_str(reference.to_str())
    digits_first.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])

    texts = []
    with open(os.path.join(shared, "data", "gsm8k", "test.jsonl"), encoding="utf-8") as f:
        for n, line in zip(range(40), f):
            record = json.loads(line)
            texts += [record["question"], record["answer"]]
    texts += torture()
    texts += ["<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
              "<|im_start|>user\nWhat is 12 * 7?<|im_end|>\n<|im_start|>assistant\n12 * 7 = 84.<|im_end|>\n",
              "The capital of France is"]
    assert meta["tokenizer.ggml.pre"] == "smollm", meta["tokenizer.ggml.pre"]
    records = [{"text": text, "ids": digits_first.encode(text).ids} for text in texts]
    differs = [n for n, text in enumerate(texts) if reference.encode(text).ids != records[n]["ids"]]
    header = {"gguf": os.path.basename(gguf_path),
              "reference": "transformers.integrations.gguf convert_gguf_tokenizer (transformers "
                           + __import__("transformers").__version__ + ", tokenizers " + __import__("tokenizers").__version__
                           + ") with llama.cpp's smollm pre-tokenizer: Digits(individual_digits) + ByteLevel",
              "gpt2_split_differs": differs}
    with open(out_path, "w", encoding="utf-8") as f:  # one record per line: small diffs when regenerated
        f.write(json.dumps(header, ensure_ascii=False)[:-1] + ',\n"records": [\n')
        f.write(",\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n]}\n")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])

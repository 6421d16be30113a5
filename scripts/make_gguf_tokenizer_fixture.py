#!/usr/bin/env python3
r"""Writes the tokenizer fixtures of Tests/GGUFTests/Fixtures, run ONCE by hand (never by the suite):
ids from transformers' own GGUF tokenizer conversion (transformers.integrations.gguf, an
implementation independent of xtf's), for texts: the first 40 GSM8K test questions and answers,
the torture set of scripts/tokenizer_parity.py, and chat markup with special tokens.

    pip install transformers gguf          # needs no torch for this
    python3 scripts/make_gguf_tokenizer_fixture.py smollm2 "$(scripts/fetch_smollm2.sh)" ../shared \
        Tests/GGUFTests/Fixtures/smollm2-tokenizer-ids.json
    python3 scripts/make_gguf_tokenizer_fixture.py spm ../shared Tests/GGUFTests/Fixtures
    python3 scripts/make_gguf_tokenizer_fixture.py llama3 ../shared Tests/GGUFTests/Fixtures

smollm2: SmolLM2-135M-Instruct's byte-level BPE. The reference is transformers' vocabulary, merges
and added tokens with the pre-tokenizer llama.cpp uses for `tokenizer.ggml.pre` "smollm" (each
\p{N} character alone, then GPT-2's split), which is also SmolLM2's own tokenizer.json
(Digits(individual_digits) + ByteLevel). transformers gives "smollm" files GPT-2's split alone;
the texts where that gives other ids (numbers in other scripts, such as "١٢٣") are listed in
the fixture's "gpt2_split_differs".

spm: a SentencePiece-style vocabulary (tokenizer.ggml.model "llama": tokens, scores, token types,
no merges), trained with `tokenizers` on this repository's text (scripts/train_test_tokenizers.py's
Llama 2 layout) and written by gguf-py as spm-tokenizer.gguf (about 40 KB); spm-tokenizer-ids.json
holds the ids without special tokens. transformers rebuilds the merges from the scores; the
reference takes them and llama.cpp's space handling (add_space_prefix: a "▁" before the text, every
space a "▁", as Llama 2's tokenizer.json normalizer), where transformers' Metaspace("first") drops
the extra "▁" of a text that starts with a space: those texts are listed in "metaspace_differs".

llama3: a Llama-3-style byte-level vocabulary (scripts/train_test_tokenizers.py's, trained on this
repository's text) written by gguf-py as llama3-tokenizer.gguf with tokenizer.ggml.pre "llama-bpe".
The reference is the trained tokenizer.json itself (Llama 3's layout: the Llama 3 split, BPE with
ignore_merges, BOS) plus one token no merge makes, " zqxjv"; transformers' conversion of the GGUF, which does not set ignore_merges, is
compared with it and the texts where they differ are listed in "transformers_differs".
"""
import json
import os
import sys

from gguf import GGUFReader
from tokenizers import Tokenizer, normalizers, pre_tokenizers
from transformers.integrations.gguf.gguf_tokenizer_mapping import GGUF_TOKENIZER_MAPPING, convert_gguf_tokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tokenizer_parity import torture  # noqa: E402


def texts_to_compare(shared, chat):
    texts = []
    with open(os.path.join(shared, "data", "gsm8k", "test.jsonl"), encoding="utf-8") as f:
        for n, line in zip(range(40), f):
            record = json.loads(line)
            texts += [record["question"], record["answer"]]
    return texts + torture() + chat + ["The capital of France is"]


def reference_tokenizer(gguf_path):
    """transformers' conversion of the file's tokenizer metadata, and the metadata."""
    reader = GGUFReader(gguf_path)
    meta = {key: field.contents() for key, field in reader.fields.items()}
    # transformers' get_gguf_tokenizer reads the file with torch; the same dictionary from gguf-py.
    tokenizer_dict = {name: meta["tokenizer." + key] for key, name in GGUF_TOKENIZER_MAPPING["tokenizer"].items()
                      if "tokenizer." + key in meta}
    reference, _ = convert_gguf_tokenizer(meta["general.architecture"], tokenizer_dict)
    return reference, meta


def write(out_path, header, records):
    with open(out_path, "w", encoding="utf-8") as f:  # one record per line: small diffs when regenerated
        f.write(json.dumps(header, ensure_ascii=False)[:-1] + ',\n"records": [\n')
        f.write(",\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n]}\n")


def versions():
    return f"transformers {__import__('transformers').__version__}, tokenizers {__import__('tokenizers').__version__}"


def smollm2(gguf_path, shared, out_path):
    reference, meta = reference_tokenizer(gguf_path)
    assert meta["tokenizer.ggml.pre"] == "smollm", meta["tokenizer.ggml.pre"]
    digits_first = Tokenizer.from_str(reference.to_str())
    digits_first.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    texts = texts_to_compare(shared, [
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\nWhat is 12 * 7?<|im_end|>\n<|im_start|>assistant\n12 * 7 = 84.<|im_end|>\n"])
    records = [{"text": text, "ids": digits_first.encode(text).ids} for text in texts]
    differs = [n for n, text in enumerate(texts) if reference.encode(text).ids != records[n]["ids"]]
    write(out_path, {"gguf": os.path.basename(gguf_path),
                     "reference": f"transformers.integrations.gguf convert_gguf_tokenizer ({versions()}) "
                                  "with llama.cpp's smollm pre-tokenizer: Digits(individual_digits) + ByteLevel",
                     "gpt2_split_differs": differs}, records)


def spm(shared, out_dir):
    from gguf import GGUFWriter
    from train_test_tokenizers import corpus, llama2
    trained_path = os.path.join(out_dir, "spm-trained.json")
    llama2(corpus(), trained_path)
    trained = Tokenizer.from_file(trained_path)
    os.remove(trained_path)
    tokens = [token for token, _ in sorted(trained.get_vocab().items(), key=lambda item: item[1])]
    # llama.cpp's token types: 2 unknown, 3 control, 6 byte, 1 normal; SentencePiece scores
    # fall with the merge order, control and byte tokens score 0.
    types = [2 if t == "<unk>" else 3 if t in ("<s>", "</s>") else 6 if len(t) == 6 and t.startswith("<0x") else 1
             for t in tokens]
    scores = [0.0 if kind != 1 else -float(i) for i, kind in enumerate(types)]
    gguf_path = os.path.join(out_dir, "spm-tokenizer.gguf")
    writer = GGUFWriter(gguf_path, arch="llama")
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_add_space_prefix(True)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    reference, _ = reference_tokenizer(gguf_path)
    llama_cpp_spaces = Tokenizer.from_str(reference.to_str())
    llama_cpp_spaces.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    llama_cpp_spaces.pre_tokenizer = None
    texts = texts_to_compare(shared, ["<s> a question </s><s>another</s>", " leading space", "  two leading spaces"])
    records = [{"text": text, "ids": llama_cpp_spaces.encode(text, add_special_tokens=False).ids} for text in texts]
    differs = [n for n, text in enumerate(texts)
               if reference.encode(text, add_special_tokens=False).ids != records[n]["ids"]]
    write(os.path.join(out_dir, "spm-tokenizer-ids.json"),
          {"gguf": "spm-tokenizer.gguf",
           "reference": f"transformers.integrations.gguf convert_gguf_tokenizer ({versions()}) with llama.cpp's "
                        "add_space_prefix: Prepend(\"▁\") + Replace(\" \", \"▁\") normalizer, no pre-tokenizer",
           "metaspace_differs": differs}, records)


def llama3(shared, out_dir):
    from gguf import GGUFWriter
    from train_test_tokenizers import corpus, llama3 as train
    trained_path = os.path.join(out_dir, "llama3-trained.json")
    train(corpus(), trained_path)
    layout = json.loads(Tokenizer.from_file(trained_path).to_str())
    os.remove(trained_path)
    # A token no merge makes (as tiktoken-derived vocabularies have): only ignore_merges finds it whole.
    layout["model"]["vocab"]["\u0120zqxjv"] = len(layout["model"]["vocab"])
    trained = Tokenizer.from_str(json.dumps(layout))
    tokens = [token for token, _ in sorted(trained.get_vocab().items(), key=lambda item: item[1])]
    specials = {t["id"] for t in layout["added_tokens"] if t["special"]}
    gguf_path = os.path.join(out_dir, "llama3-tokenizer.gguf")
    writer = GGUFWriter(gguf_path, arch="llama")
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("llama-bpe")
    writer.add_token_list(tokens)
    writer.add_token_types([3 if i in specials else 1 for i in range(len(tokens))])
    writer.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in layout["model"]["merges"]])
    writer.add_bos_token_id(trained.token_to_id("<|begin_of_text|>"))
    writer.add_eos_token_id(trained.token_to_id("<|end_of_text|>"))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    converted, _ = reference_tokenizer(gguf_path)
    texts = texts_to_compare(shared, ["<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 12 * 7?<|eot_id|>",
                                      "a token no merge makes: zqxjv, zqxjvq"])
    records = [{"text": text, "ids": trained.encode(text).ids} for text in texts]
    # transformers adds BOS in its Python tokenizer, not in the converted one: compare without it.
    differs = [n for n, text in enumerate(texts)
               if converted.encode(text, add_special_tokens=False).ids != trained.encode(text, add_special_tokens=False).ids]
    write(os.path.join(out_dir, "llama3-tokenizer-ids.json"),
          {"gguf": "llama3-tokenizer.gguf",
           "reference": f"the trained tokenizer.json (tokenizers {__import__('tokenizers').__version__}), with BOS",
           "transformers_differs": differs}, records)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "smollm2":
        smollm2(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] in ("spm", "llama3"):
        {"spm": spm, "llama3": llama3}[sys.argv[1]](*sys.argv[2:])
    else:
        sys.exit(__doc__)

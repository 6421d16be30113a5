#!/usr/bin/env python3
r"""tokenizer.json files as transformers' converters write them, with the ids transformers gives,
for Tests/TokenizerTests/Fixtures/converted (run ONCE by hand; the suite only reads the output):

    pip install transformers sentencepiece gguf tokenizers
    python3 scripts/make_converted_tokenizers.py ../shared Tests/TokenizerTests/Fixtures/converted

Each NAME/tokenizer.json is what `save_pretrained` writes after a conversion:
  gguf-llama3   AutoTokenizer from Tests/GGUFTests/Fixtures/llama3-tokenizer.gguf (GGUF conversion,
                a Llama-3-style byte-level vocabulary)
  gguf-spm      AutoTokenizer from Tests/GGUFTests/Fixtures/spm-tokenizer.gguf (GGUF conversion,
                a SentencePiece-style vocabulary)
  slow-gpt2     a directory with only vocab.json + merges.txt (a byte-level BPE trained here) and
                tokenizer_class GPT2Tokenizer, which transformers converts (slow -> fast, GPT-2 style)
  slow-spm      a directory with only tokenizer.model (a SentencePiece BPE with byte fallback trained
                here) and tokenizer_class LlamaTokenizer (slow -> fast, SentencePiece style)
NAME/ids.json: {"texts": [...], "ids": [[...]]}: the fast tokenizer's ids without special tokens
for the parity torture set, 30 GSM8K questions and chat markup.
"""
import json
import os
import sys
import tempfile

import sentencepiece
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tokenizer_parity import torture  # noqa: E402


def texts(shared):
    rows = list(torture())
    with open(os.path.join(shared, "data", "gsm8k", "test.jsonl")) as f:
        for line in list(f)[:30]:
            rows.append(json.loads(line)["question"])
    rows += ["<s>[INST] What is 2 + 2? [/INST] 4</s>", "<|begin_of_text|>Hi <|eot_id|> there", "  leading and trailing  "]
    return rows


def training_text(shared):
    with open(os.path.join(shared, "data", "gsm8k", "train.jsonl")) as f:
        return f.read()[:300000]


def slow_gpt2(shared, work):
    """vocab.json + merges.txt of a 600-token byte-level BPE, loaded by the slow GPT2Tokenizer."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>"])
    tok.train_from_iterator([training_text(shared)], trainer)
    tok.model.save(work)  # vocab.json, merges.txt: no tokenizer.json, so transformers converts them
    with open(os.path.join(work, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "GPT2Tokenizer", "unk_token": "<|endoftext|>", "bos_token": "<|endoftext|>",
                   "eos_token": "<|endoftext|>"}, f)
    return transformers.AutoTokenizer.from_pretrained(work)


def slow_spm(shared, work):
    """A 400-piece SentencePiece BPE with byte fallback, loaded by the slow LlamaTokenizer."""
    path = os.path.join(work, "spm.txt")
    with open(path, "w") as f:
        f.write(training_text(shared))
    sentencepiece.SentencePieceTrainer.train(input=path, model_prefix=os.path.join(work, "spm"), vocab_size=400,
                                             model_type="bpe", byte_fallback=True, character_coverage=1.0,
                                             unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2)
    os.replace(os.path.join(work, "spm.model"), os.path.join(work, "tokenizer.model"))
    with open(os.path.join(work, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "LlamaTokenizer", "legacy": True, "add_bos_token": True, "add_eos_token": False}, f)
    return transformers.AutoTokenizer.from_pretrained(work)


def from_gguf(path):
    directory, name = os.path.split(os.path.abspath(path))
    return transformers.AutoTokenizer.from_pretrained(directory, gguf_file=name)


def main():
    shared, out = sys.argv[1:3]
    root = os.path.dirname(HERE)
    fixtures = os.path.join(root, "Tests", "GGUFTests", "Fixtures")
    makers = {
        "gguf-llama3": lambda work: from_gguf(os.path.join(fixtures, "llama3-tokenizer.gguf")),
        "gguf-spm": lambda work: from_gguf(os.path.join(fixtures, "spm-tokenizer.gguf")),
        "slow-gpt2": lambda work: slow_gpt2(shared, work),
        "slow-spm": lambda work: slow_spm(shared, work),
    }
    rows = texts(shared)
    for name, make in makers.items():
        with tempfile.TemporaryDirectory() as work:
            fast = make(work)
            target = os.path.join(out, name)
            os.makedirs(target, exist_ok=True)
            fast.save_pretrained(work)
            os.replace(os.path.join(work, "tokenizer.json"), os.path.join(target, "tokenizer.json"))
            ids = [fast(t, add_special_tokens=False)["input_ids"] for t in rows]
            with open(os.path.join(target, "ids.json"), "w") as f:
                json.dump({"generator": f"scripts/make_converted_tokenizers.py, transformers {transformers.__version__}",
                           "texts": rows, "ids": ids}, f, ensure_ascii=False)
            print(f"wrote {target}: {os.path.getsize(os.path.join(target, 'tokenizer.json'))} bytes, {len(rows)} texts")


if __name__ == "__main__":
    main()

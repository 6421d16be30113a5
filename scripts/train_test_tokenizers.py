#!/usr/bin/env python3
"""Trains the small tokenizers the parity tests compare against (issue #4), with the
`tokenizers` package, on this repository's own text (Swift sources, docs, scripts).

    python3 scripts/train_test_tokenizers.py OUT_DIR

writes OUT_DIR/llama3/tokenizer.json (Split with the Llama 3 regex, then ByteLevel without
regex; special tokens such as <|begin_of_text|>; BOS template), OUT_DIR/spm/tokenizer.json
(SentencePiece-style: Metaspace, BPE with byte_fallback and <unk>, Llama-2 decoders) and
OUT_DIR/mixed/tokenizer.json (normalizers, several split behaviours, subword prefix and
suffix, added tokens with lstrip/rstrip/single_word), OUT_DIR/llama2/tokenizer.json (Llama 2's
layout: Prepend + Replace normalizers, no pre-tokenizer, BOS and EOS) and
OUT_DIR/pieces/tokenizer.json (the other pre-tokenizers and a general regex). Runs in seconds.
"""
import glob
import json
import os
import sys

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                  r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def corpus():
    files = sorted(glob.glob(os.path.join(ROOT, "Sources", "**", "*.swift"), recursive=True)
                   + glob.glob(os.path.join(ROOT, "docs", "*.md"))
                   + glob.glob(os.path.join(ROOT, "scripts", "*")))
    texts = []
    for path in files:
        if os.path.isfile(path):
            with open(path, encoding="utf-8", errors="replace") as f:
                texts.extend(line for line in f.read().split("\n\n") if line.strip())
    return texts


def llama3(texts, out):
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"] \
        + [f"<|reserved_special_token_{i}|>" for i in range(8)]
    trainer = trainers.BpeTrainer(vocab_size=3000, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", bos)]),
    ])
    save(tok, out)


def spm(texts, out):
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(content=" ", left=1, right=0)])
    # A small alphabet, so that rare characters go through byte fallback.
    trainer = trainers.BpeTrainer(vocab_size=2500, special_tokens=["<unk>", "<s>", "</s>"], limit_alphabet=70,
                                  show_progress=False)
    tok.train_from_iterator(texts, trainer)
    # SentencePiece keeps the 256 byte tokens in the model's vocabulary (not as added tokens).
    data = json.loads(tok.to_str())
    vocab = data["model"]["vocab"]
    for b in range(256):
        vocab.setdefault(f"<0x{b:02X}>", len(vocab))
    tok = Tokenizer.from_str(json.dumps(data))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    save(tok, out)


def mixed(texts, out):
    tok = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace("``", '"'), normalizers.Lowercase(),
                                           normalizers.Strip(), normalizers.NFC()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.Punctuation(behavior="merged_with_previous"),
        pre_tokenizers.Split("-", behavior="merged_with_next"),
        pre_tokenizers.Split(Regex(r"[aeiou]{2}|\p{Lo}"), behavior="contiguous"),
        pre_tokenizers.Split(Regex(r"[^q]+"), behavior="removed", invert=True),
    ])
    tok.decoder = decoders.Sequence([decoders.Replace("##", ""), decoders.Replace(Regex("</w>"), " "), decoders.Fuse(),
                                     decoders.Strip(content=" ", left=1, right=0)])  # right>0 panics in the reference on an empty text
    trainer = trainers.BpeTrainer(vocab_size=2000, special_tokens=["[UNK]", "<sep>"], limit_alphabet=60,
                                  continuing_subword_prefix="##", end_of_word_suffix="</w>", show_progress=False)
    tok.train_from_iterator(texts, trainer)
    tok.add_tokens([AddedToken("[mask]", lstrip=True, rstrip=True, single_word=True, normalized=True),
                    AddedToken("Return", normalized=False)])
    save(tok, out)


def llama2(texts, out):
    """Llama 2's layout: no pre-tokenizer (each text is one word), Prepend + Replace normalizers,
    byte fallback, BOS and EOS."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(content=" ", left=1, right=0)])
    # Training without a pre-tokenizer sees whole texts as words: train on short lines.
    lines = [line for t in texts for line in t.split("\n") if line.strip()]
    trainer = trainers.BpeTrainer(vocab_size=1500, special_tokens=["<unk>", "<s>", "</s>"], limit_alphabet=80,
                                  show_progress=False)
    tok.train_from_iterator(lines, trainer)
    data = json.loads(tok.to_str())
    for b in range(256):
        data["model"]["vocab"].setdefault(f"<0x{b:02X}>", len(data["model"]["vocab"]))
    tok = Tokenizer.from_str(json.dumps(data))
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])
    save(tok, out)


def pieces(texts, out):
    """The remaining pre-tokenizers and behaviours: Whitespace, Digits (runs), Punctuation
    (isolated), a general regex (not one of the hand-scanned ones), string Split removed,
    Metaspace (always, no split) and its decoder; Strip right only."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Strip(left=False, right=True)])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\p{L}+|\p{N}+|[^\s\p{L}\p{N}]+|\s+"), behavior="isolated"),
        pre_tokenizers.Whitespace(),
        pre_tokenizers.Digits(individual_digits=False),
        pre_tokenizers.Punctuation(behavior="isolated"),
        pre_tokenizers.Split(Regex(r"(?i)the"), behavior="merged_with_previous"),
        pre_tokenizers.Split("e", behavior="removed"),
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False),
    ])
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.BpeTrainer(vocab_size=1500, special_tokens=["<unk>"], limit_alphabet=90, show_progress=False)
    tok.train_from_iterator(texts, trainer)
    tok.add_special_tokens([AddedToken("<|endoftext|>", lstrip=True, rstrip=False)])
    save(tok, out)


def save(tok, out):
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tok.save(out)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    texts = corpus()
    llama3(texts, os.path.join(out, "llama3", "tokenizer.json"))
    spm(texts, os.path.join(out, "spm", "tokenizer.json"))
    mixed(texts, os.path.join(out, "mixed", "tokenizer.json"))
    llama2(texts, os.path.join(out, "llama2", "tokenizer.json"))
    pieces(texts, os.path.join(out, "pieces", "tokenizer.json"))


if __name__ == "__main__":
    main()

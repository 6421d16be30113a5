#!/usr/bin/env python3
"""Reference outputs of the `tokenizers` package for the Swift parity tests (issue #4).

    python3 scripts/tokenizer_parity.py corpus SHARED_DIR OUT.jsonl
        Writes the texts to compare, one {"source": ..., "text": ...} per line: every question
        and answer of gsm8k/train.jsonl, every PubMedQA context, every HumanEval prompt, then
        the torture set below.
    python3 scripts/tokenizer_parity.py reference TOKENIZER_JSON TEXTS.jsonl OUT.jsonl
        Writes {"ids": [...], "offsets": [[start, end], ...], "decoded": ...} per text (encode
        with special tokens, decode skipping special tokens: the package's defaults; offsets in
        Unicode scalars, as Python strings count).

Exits with status 3 when `tokenizers` cannot be imported (the test then reports a SKIP).
"""
import gzip
import json
import os
import sys


def torture():
    t = [
        "", " ", "  ", "\n", "\r\n", "\t", "a", "Hello world", " Hello  world ", "Hello\r\nworld\r\n\r\n",
        "It's, I'll, we've, they're, I'm, he'd, don't; IT'S I'LL WE'VE THEY'RE I'M HE'D 'S 'ſ",
        "emoji 🎉🎉🎉 👩‍👩‍👧‍👦 family 🇫🇷 flag 👍🏽 thumbs ❤️ heart",
        "中文字符测试，包括标点。日本語のテキスト、カタカナ。한국어 텍스트입니다.",
        "combining: e\u0301 a\u0308 n\u0303 \u0915\u094d\u0937 Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334",
        "RTL: שלום עולם مرحبا بالعالم \u200f\u200e mixed עברית123",
        "control: \x00\x01\x07\x1b[31m red \x1b[0m \x7f \x85 \u2028 \u2029 \ufeff \u200b \u00a0 \u3000 \u180e",
        "spaces" + " " * 50 + "end", " " * 200, "\t" * 30 + "x", "\n" * 40, "\r\n" * 25 + "y",
        "digits 1234567890 " + "9" * 300 + " 3.14159 1,000,000 ½ ² ³ Ⅻ ١٢٣ ๑๒๓",
        "<|endoftext|> looks special <|endoftext|><|endoftext|>x<|endoftext",
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
        "<s> </s> <unk> [MASK] [mask] a[mask]b [mask]. <sep> ``quoted'' Return return",
        "<0x41> <0xZZ> ▁ ▁▁ ▁x",
        "mixed-case ÀÉÎÕÜ àéîõü ǅ ß ẞ İ ı ΣΑΣ σας ﬁ ﬀ Ⅲ ① ㎏ ＡＢＣ１２３",
        "code:\n    def f(x):\n        return x**2  # comment\n\n\tif (a && b) { c++; }",
        "url https://example.com/path?q=1&r=2#frag e-mail a.b@c.de",
        "math ∀x∈ℝ: x² ≥ 0 ⇒ √x ∑∫∂ ≠ ≈",
        "quotes “curly” ‘single’ «guillemets» „low“ — – … ·",
        "hangul jamo \u1100\u1161\u11a8 and \u1112\u1161\u11ab",
        "long word " + "abcdefghij" * 40,
        "surrogate-free astral: 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟘𝟙𝟚 𐍈 𓀀",
        "qqq quick queue aqua qu-qq",
        "a\u200db \u00aa \u02b0 x\u0300\u0300\u0300y",
        "  leading and trailing  ",
        "ends with newline\n",
        "'" * 10 + "'s'" + "!" * 20,
    ]
    return t


def corpus(shared, out):
    rows = []
    with open(os.path.join(shared, "data", "gsm8k", "train.jsonl"), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            r = json.loads(line)
            rows.append((f"gsm8k/train.jsonl:{n}:question", r["question"]))
            rows.append((f"gsm8k/train.jsonl:{n}:answer", r["answer"]))
    with open(os.path.join(shared, "data", "pubmedqa", "ori_pqal.json"), encoding="utf-8") as f:
        for key, r in json.load(f).items():
            for i, c in enumerate(r["CONTEXTS"]):
                rows.append((f"pubmedqa/{key}:CONTEXTS[{i}]", c))
    with gzip.open(os.path.join(shared, "data", "humaneval", "HumanEval.jsonl.gz"), "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            rows.append((f"humaneval/{r['task_id']}:prompt", r["prompt"]))
    for i, t in enumerate(torture()):
        rows.append((f"torture[{i}]", t))
    with open(out, "w", encoding="utf-8") as f:
        for source, text in rows:
            f.write(json.dumps({"source": source, "text": text}, ensure_ascii=False) + "\n")


def reference(tokenizer_path, texts_path, out):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(tokenizer_path)
    with open(texts_path, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    encodings = tok.encode_batch(texts)
    decoded = tok.decode_batch([e.ids for e in encodings])
    with open(out, "w", encoding="utf-8") as f:
        for e, d in zip(encodings, decoded):
            f.write(json.dumps({"ids": e.ids, "offsets": e.offsets, "decoded": d}, ensure_ascii=False) + "\n")


def main():
    try:
        import tokenizers  # noqa: F401
    except ImportError as e:
        print(f"tokenizer_parity.py: cannot import tokenizers: {e}", file=sys.stderr)
        sys.exit(3)
    if len(sys.argv) == 4 and sys.argv[1] == "corpus":
        corpus(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "reference":
        reference(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

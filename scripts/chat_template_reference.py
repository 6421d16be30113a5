#!/usr/bin/env python3
"""What transformers makes of a chat dataset with the model's own chat template: for each
record, the prompt's token ids (`apply_chat_template(context, add_generation_prompt=True)`) and
the completion's (what rendering the whole conversation adds after the prompt), as TRL builds
a prompt-completion sample. xtf's `--template model` must give the same ids. For chat records
also every assistant turn's token span in the whole conversation's ids (`input_ids`, `spans`):
a turn starts after the ids of the turns before it with the generation prompt and ends where
the ids of the conversation cut after it stop agreeing with the whole's (xtf's
`--assistant-turns all`, computed here on transformers' ids instead of on text).

    python3 scripts/chat_template_reference.py --tokenizer DIR --data FILE --format chat|gsm8k [--limit N] --out FILE.json

Needs transformers (pip; a comparison script, never run by scripts/test.sh).
"""
import argparse
import json

from transformers import AutoTokenizer


def conversations(path, fmt, limit):
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if limit is not None and number > limit:
                break
            record = json.loads(line)
            if fmt == "gsm8k":
                context, response = [{"role": "user", "content": record["question"]}], record["answer"]
            else:
                messages = record["messages"]
                last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
                context, response = messages[:last], messages[last]["content"]
            yield f"{path.split('/')[-1]}:{number}", context, response, fmt == "chat"


def ids(tokenizer, messages, **kwargs):
    out = tokenizer.apply_chat_template(messages, tokenize=True, **kwargs)
    return list(out["input_ids"] if isinstance(out, dict) or hasattr(out, "keys") else out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--format", choices=["chat", "gsm8k"], default="chat")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    records = []
    for name, context, response, multi in conversations(args.data, args.format, args.limit):
        prompt = ids(tokenizer, context, add_generation_prompt=True)
        turns = context + [{"role": "assistant", "content": response}]
        full = ids(tokenizer, turns)
        assert full[: len(prompt)] == prompt, f"{name}: the prompt is not a prefix of the conversation"
        record = {"id": name, "prompt_ids": prompt, "completion_ids": full[len(prompt):]}
        if multi:
            spans = []
            for k, turn in enumerate(turns):
                if turn["role"] != "assistant":
                    continue
                start = len(ids(tokenizer, turns[:k], add_generation_prompt=True))
                cut = ids(tokenizer, turns[: k + 1])
                end = next((i for i, (a, b) in enumerate(zip(cut, full)) if a != b), min(len(cut), len(full)))
                assert full[:start] == cut[:start] and end > start, f"{name}: turn {k} is not where the whole conversation has it"
                spans.append([start, end])
            record.update(input_ids=full, spans=spans)
        records.append(record)
    with open(args.out, "w", encoding="utf-8") as f:
        import transformers
        json.dump({"tokenizer": args.tokenizer.rstrip("/").split("/")[-1], "transformers": transformers.__version__, "records": records},
                  f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""What transformers computes for a checkpoint, in the layout of shared/fixtures/hf/README.md
(expected.safetensors), so that `xtf model check` can compare xtf's outputs with it.

  python3 scripts/transformers_reference.py --model DIR --out expected.safetensors
  python3 scripts/transformers_reference.py --gguf FILE.gguf --out expected.safetensors

DIR is a Hugging Face checkpoint directory; FILE a GGUF file that transformers' GGUF loader
dequantizes (gguf-py). --adapter ADAPTER_DIR merges a PEFT LoRA adapter into the model first. Eager attention, fp32, CPU. Inputs: two texts tokenized by the model's
own tokenizer and cut to the shorter one's length (or seeded random ids when the checkpoint
has no tokenizer). Writes input_ids, labels (the first 4 positions of each row ignored),
logits (or, with --logit-columns K, the logits of K vocabulary columns: logits_columns and
logits_at_columns), next_token_logprob, final_hidden, attention maps of --attention-layers,
ri_last_layer, ri_all_layers, loss_sum with the gradients of the parameters whose names match
--gradients, and a greedy continuation of the first row's first 6 tokens. The texts and the
versions that computed it go into the file's metadata.

Needs torch and transformers (and gguf for --gguf). Used by `xtf model check --reference
transformers` and to make Tests/GGUFTests/Fixtures/smollm2-transformers.safetensors; the suite
itself never runs it.
"""
import argparse
import os
import re

import numpy as np
import torch
import transformers
from safetensors.numpy import save_file

TEXTS = [
    "<|im_start|>user\nNatalia sold clips to 48 of her friends in April, and then she sold half as many clips "
    "in May. How many clips did Natalia sell altogether in April and May?<|im_end|>\n<|im_start|>assistant\n"
    "Natalia sold 48/2 = 24 clips in May. Natalia sold 48+24 = 72 clips altogether in April and May.",
    "The mitochondria is the powerhouse of the cell: it turns glucose and oxygen into ATP, water and carbon "
    "dioxide, and a cell with many of them (a muscle fibre, a neuron) can use a great deal of energy.",
]
PROMPT_IGNORED = 4
GREEDY_PROMPT, GREEDY_NEW = 6, 10


def attention_received(attentions):
    """[B, T] per layer: mean over heads of A[q, p] over later queries q > p; NaN at the end."""
    out = []
    for a in attentions:                      # [B, H, T, T]
        a = a.double()
        T = a.shape[-1]
        mean_heads = a.mean(dim=1)            # [B, T, T]
        ri = torch.full((a.shape[0], T), float("nan"), dtype=torch.float64)
        for p in range(T - 1):
            ri[:, p] = mean_heads[:, p + 1:, p].mean(dim=1)
        out.append(ri)
    return out


def forward_outputs(model, ids):
    with torch.no_grad():
        out = model(torch.tensor(ids), output_attentions=True, output_hidden_states=True)
        hidden = model.base_model(torch.tensor(ids)).last_hidden_state  # after the final norm
    logits = out.logits.float()
    logprobs = torch.log_softmax(logits, dim=-1)
    nxt = torch.gather(logprobs[:, :-1], 2, torch.tensor(ids)[:, 1:, None])[..., 0]
    return logits, nxt, hidden, out.attentions


def shifted_loss_sum(model, ids, labels):
    logits = model(torch.tensor(ids)).logits.float()
    tgt = torch.tensor(labels)[:, 1:]
    return torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), tgt.reshape(-1),
                                             ignore_index=-100, reduction="sum")


def load(args):
    kwargs = dict(dtype=torch.float32, attn_implementation="eager")
    if args.gguf:
        directory, name = os.path.split(os.path.abspath(args.gguf))
        model = transformers.AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, **kwargs)
        tokenizer = transformers.AutoTokenizer.from_pretrained(directory, gguf_file=name)
    else:
        model = transformers.AutoModelForCausalLM.from_pretrained(args.model, **kwargs)
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(args.model)
        except (OSError, ValueError, TypeError):
            tokenizer = None
    return model.eval(), tokenizer


def inputs(tokenizer, vocab, seed):
    """[2, T] ids: the texts cut to the shorter length, or random ids without a tokenizer."""
    if tokenizer is not None:
        rows = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in TEXTS]
        if all(len(r) > GREEDY_PROMPT + 1 and max(r) < vocab for r in rows):
            T = min(len(r) for r in rows)
            return np.array([r[:T] for r in rows], dtype=np.int64), "tokenized texts"
    rng = np.random.default_rng(seed)
    return rng.integers(0, vocab, size=(2, 24)).astype(np.int64), f"random ids (seed {seed})"


def attention_layers(spec, n):
    if spec == "none":
        return []
    if spec == "all":
        return list(range(n))
    named = {"first": 0, "last": n - 1}
    return sorted({named[s] if s in named else int(s) for s in spec.split(",")})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = ap.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="Hugging Face checkpoint directory")
    source.add_argument("--gguf", help="a GGUF file (transformers' GGUF loader)")
    ap.add_argument("--adapter", help="a PEFT LoRA adapter directory, merged into the model (needs peft)")
    ap.add_argument("--out", required=True, help="the expected.safetensors to write")
    ap.add_argument("--logit-columns", type=int, default=0,
                    help="keep the logits of this many vocabulary columns only (0: all); keeps a committed file small")
    ap.add_argument("--attention-layers", default="first,last", help="none, all, or a list like first,last,3")
    ap.add_argument("--gradients", default="", help="regex: the parameters whose gradients to write (empty: none)")
    ap.add_argument("--seed", type=int, default=18)
    args = ap.parse_args()
    torch.manual_seed(args.seed)

    model, tokenizer = load(args)
    if args.adapter:
        import peft
        model = peft.PeftModel.from_pretrained(model, args.adapter).merge_and_unload().eval()
    vocab = model.get_output_embeddings().weight.shape[0]
    ids, origin = inputs(tokenizer, vocab, args.seed)
    labels = ids.copy()
    labels[:, :PROMPT_IGNORED] = -100
    e = {"input_ids": ids.astype(np.int32), "labels": labels.astype(np.int32)}

    logits, nxt, hidden, attentions = forward_outputs(model, ids)
    if args.logit_columns > 0:
        # The columns every row's top tokens fall in, then evenly spread ones.
        top = torch.topk(logits, 4, dim=-1).indices.flatten().tolist()
        spread = np.linspace(0, vocab - 1, args.logit_columns, dtype=np.int64).tolist()
        columns = sorted(set(top + spread))[: max(args.logit_columns, len(set(top)))]
        e["logits_columns"] = np.array(columns, dtype=np.int32)
        e["logits_at_columns"] = logits[..., columns].numpy()
    else:
        e["logits"] = logits.numpy()
    e["next_token_logprob"] = nxt.numpy()
    e["final_hidden"] = hidden.float().numpy()
    for l in attention_layers(args.attention_layers, len(attentions)):
        e[f"attention.{l}"] = attentions[l].float().numpy()
    ri = attention_received(attentions)
    e["ri_last_layer"] = ri[-1].float().numpy()
    e["ri_all_layers"] = (sum(ri) / len(ri)).float().numpy()

    if args.gradients:
        pattern = re.compile(args.gradients)
        model.zero_grad()
        loss = shifted_loss_sum(model, ids, labels)
        loss.backward()
        e["loss_sum"] = np.array([loss.item()], dtype=np.float32)
        e["n_unmasked"] = np.array([int((labels[:, 1:] != -100).sum())], dtype=np.int32)
        for name, p in model.named_parameters():
            if pattern.search(name) and p.grad is not None:
                e["grad." + name] = p.grad.float().numpy().copy()
        model.zero_grad()

    prompt = ids[:1, :GREEDY_PROMPT]
    with torch.no_grad():
        # An explicit mask: otherwise generate masks every prompt token equal to pad_token_id.
        out = model.generate(torch.tensor(prompt), attention_mask=torch.ones(prompt.shape, dtype=torch.long),
                             max_new_tokens=GREEDY_NEW, min_new_tokens=GREEDY_NEW, do_sample=False, eos_token_id=None, pad_token_id=0)
    e["greedy_prompt"] = prompt.astype(np.int32)
    e["greedy_output"] = out.numpy().astype(np.int32)

    # One metadata key: safetensors writes several in no fixed order.
    source = args.gguf and os.path.basename(args.gguf) or os.path.basename(os.path.abspath(args.model))
    metadata = {"generator": f"scripts/transformers_reference.py on {source}: transformers {transformers.__version__}, "
                             f"torch {torch.__version__}, eager fp32 CPU; inputs: {origin}"}
    directory = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(directory, exist_ok=True)
    partial = args.out + ".partial"
    save_file(e, partial, metadata=metadata)
    os.replace(partial, args.out)
    print(f"wrote {args.out}: {ids.shape[0]}x{ids.shape[1]} tokens ({origin}), {len(e)} tensors")


if __name__ == "__main__":
    main()

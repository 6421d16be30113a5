#!/usr/bin/env python3
"""PyTorch baseline for `xtf bench model`: the same configurations, batches and work.

Scoring: forward, next-token log-probs at every position, attention received by each position
from later queries (last layer, mean over heads). Training: forward, mean loss with 30% of
positions masked, backward, AdamW (lr 1e-3, wd 0.01). Random weights, 2 threads by default.

A config.json (a real model's shapes, e.g. configs/models/qwen3-0.6b.json) builds that model
with random weights; --batch/--length set the shape (default 8 x 256); --lora r,alpha,modules
trains PEFT adapters on the frozen base instead of every weight (needs peft).

Needs torch and transformers (pip install torch transformers); never needed by the tests.
Usage: scripts/bench_pytorch_model.py --config gpt2-small-bench|FILE.json [--batch B --length T] [--lora 8,32,q_proj+v_proj]
       [--threads 2] [--json out.json]
"""
import argparse
import json
import resource
import statistics
import time

import torch
import transformers

CONFIGS = {
    "gpt2-small-bench": dict(kind="gpt2", n_embd=256, n_layer=4, n_head=4, n_positions=256, vocab_size=50257, batch=8),
    "gpt2-124M": dict(kind="gpt2", n_embd=768, n_layer=12, n_head=12, n_positions=1024, vocab_size=50257, batch=4),
    "llama-bench": dict(kind="llama", hidden_size=512, num_hidden_layers=8, num_attention_heads=8, num_key_value_heads=4,
                        intermediate_size=1536, vocab_size=32000, rope_theta=500000.0, tie_word_embeddings=False, batch=8),
}
T = 256


def build(name):
    if name.endswith(".json"):
        with open(name) as f:
            fields = json.load(f)
        cfg = transformers.AutoConfig.for_model(fields.pop("model_type"), **fields)
        cfg._attn_implementation = "eager"
        # fp32 as xtf computes: from_config would otherwise take the config's torch_dtype
        # (bfloat16 in Llama-3.2 and Qwen configs), which AMX CPUs run several times faster.
        return transformers.AutoModelForCausalLM.from_config(cfg, dtype=torch.float32), 8, cfg.vocab_size
    c = dict(CONFIGS[name])
    kind, batch = c.pop("kind"), c.pop("batch")
    if kind == "gpt2":
        cfg = transformers.GPT2Config(**c, attn_pdrop=0, embd_pdrop=0, resid_pdrop=0)
        model = transformers.GPT2LMHeadModel(cfg)
    else:
        cfg = transformers.LlamaConfig(**c, max_position_embeddings=2048)
        model = transformers.LlamaForCausalLM(cfg)
    model.config._attn_implementation = "eager"  # attention maps are needed for RI
    return model, batch, cfg.vocab_size


def scoring_step(model, ids):
    with torch.no_grad():
        out = model(ids, output_attentions=True)
        logp = torch.log_softmax(out.logits[:, :-1].float(), dim=-1)
        lp = logp.gather(-1, ids[:, 1:, None])[..., 0]
        att = out.attentions[-1].mean(1)  # [B, T, T] (query, key)
        below = torch.tril(att, diagonal=-1)  # queries q > p
        counts = torch.arange(T - 1, -1, -1, dtype=att.dtype)
        ri = below.sum(1) / counts.clamp(min=1)
        ri[:, -1] = float("nan")
    return lp, ri


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="gpt2-small-bench", help=f"{', '.join(CONFIGS)} or a config.json")
    ap.add_argument("--batch", type=int)
    ap.add_argument("--length", type=int)
    ap.add_argument("--lora", help="rank,alpha,module+module: PEFT adapters on the frozen base")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model, B, V = build(a.config)
    global T
    B, T = a.batch or B, a.length or T
    ids = torch.randint(0, V, (B, T))
    tokens = B * T

    scoring_step(model, ids)
    scoring = []
    for _ in range(a.repetitions):
        t0 = time.perf_counter()
        scoring_step(model, ids)
        scoring.append(time.perf_counter() - t0)

    labels = ids.clone()
    mask = torch.rand(B, T) < 0.3
    labels[mask] = -100
    if a.lora:
        import peft
        rank, alpha, modules = a.lora.split(",")
        model = peft.get_peft_model(model, peft.LoraConfig(r=int(rank), lora_alpha=float(alpha), target_modules=modules.split("+"), lora_dropout=0.0))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3, weight_decay=0.01)
    model.config._attn_implementation = "sdpa"  # training needs no maps; use PyTorch's fastest path
    if a.lora:
        model.base_model.model.config._attn_implementation = "sdpa"
    training = []
    for step in range(a.steps + 1):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=False)
        loss = model(ids, labels=labels).loss
        loss.backward()
        opt.step()
        if step > 0:
            training.append(time.perf_counter() - t0)

    result = dict(config=a.config, lora=a.lora, batch=B, sequence_length=T, threads=a.threads,
                  scoring_tokens_per_second=tokens / statistics.median(scoring),
                  training_tokens_per_second=tokens / statistics.median(training),
                  peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  torch=torch.__version__, transformers=transformers.__version__)
    print(json.dumps(result, indent=2))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()

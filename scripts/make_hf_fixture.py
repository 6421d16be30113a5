#!/usr/bin/env python3
"""Builds a tiny random-weight Hugging Face checkpoint of one architecture and the reference
outputs transformers computes for it (eager attention, fp32, CPU), in the layout of
shared/fixtures/hf/README.md:

  OUT/config.json, model.safetensors, generation_config.json, expected.safetensors
  OUT/bf16/ the same weights rounded to bfloat16, with their own expected.safetensors
            (logits, next_token_logprob, final_hidden of the bf16 weights upcast to fp32)

Deterministic: fixed seeds for weights and inputs. Needs torch and transformers (not part of
the test suite: the fixtures are committed). Usage:

  python3 scripts/make_hf_fixture.py --arch qwen3 --out Tests/ModelTests/Fixtures/qwen3-tiny
  python3 scripts/make_hf_fixture.py --from ../shared/fixtures/hf/qwen2-tiny --out /tmp/qwen2-check
      (reuses that checkpoint's config, weights and inputs: its expected.safetensors should be
      reproduced, which checks this script against the existing fixtures)
"""
import argparse
import json
import os
import shutil

import numpy as np
import torch
import transformers
from safetensors import safe_open
from safetensors.numpy import save_file

# The reference computations, shared with `xtf model check --reference transformers`.
from transformers_reference import attention_received, forward_outputs, shifted_loss_sum

B, T = 2, 24
ADAMW_STEPS = 5
GREEDY_PROMPT, GREEDY_NEW = 6, 10
SINGLE_TOKENS = 32

# Small shapes shared by every architecture (a few hundred KB a fixture): vocab 256, hidden 32,
# 4 heads of 8 (2 kv heads).
COMMON = dict(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
              attention_dropout=0.0, bos_token_id=None, eos_token_id=None, pad_token_id=None)

# Per architecture: the config class and what sets it apart (the features the fixture must exercise).
ARCHITECTURES = {
    # head_dim 12 != hidden / heads (8), per-head q/k norms, untied head.
    "qwen3": ("Qwen3Config", dict(head_dim=12, rms_norm_eps=1e-6, tie_word_embeddings=False,
                                  rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})),
    # q/k norms over the whole projection, post-sublayer norms, untied head.
    "olmo2": ("Olmo2Config", dict(rms_norm_eps=1e-6, tie_word_embeddings=False,
                                  rope_parameters={"rope_type": "default", "rope_theta": 500000.0})),
    # Layer 1 of 2 without RoPE (no_rope_layers [1, 0]), tied head.
    "smollm3": ("SmolLM3Config", dict(no_rope_layers=[1, 0], tie_word_embeddings=True, rms_norm_eps=1e-6,
                                      rope_parameters={"rope_type": "default", "rope_theta": 2000000.0})),
    # (1 + w) norms before and after each sublayer, GeGLU, scaled embeddings, head_dim 16 != 8,
    # query_pre_attn_scalar 12, attention and final soft-capping low enough to bend, layer 0
    # sliding (window 5 < T) and layer 1 full, tied head.
    "gemma2": ("Gemma2Config", dict(head_dim=16, query_pre_attn_scalar=12, attn_logit_softcapping=1.0,
                                    final_logit_softcapping=1.0, sliding_window=5, rms_norm_eps=1e-6,
                                    hidden_activation="gelu_pytorch_tanh", tie_word_embeddings=True,
                                    rope_parameters={"rope_type": "default", "rope_theta": 10000.0})),
    # Gemma 2 plus per-head (1 + w) q/k norms; layer 0 sliding with RoPE base 10000, layer 1
    # full with base 1e6 and linear scaling 4 (sliding_window_pattern 2), no soft-caps.
    "gemma3_text": ("Gemma3TextConfig", dict(head_dim=16, query_pre_attn_scalar=12, sliding_window=5,
                                             sliding_window_pattern=2, rms_norm_eps=1e-6, tie_word_embeddings=True,
                                             hidden_activation="gelu_pytorch_tanh",
                                             rope_parameters={
                                                 "full_attention": {"rope_type": "linear", "factor": 4.0, "rope_theta": 1000000.0},
                                                 "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}})),
    # Fused qkv_proj and gate_up_proj, untied head, sliding window 5 < T.
    "phi3": ("Phi3Config", dict(tie_word_embeddings=False, rms_norm_eps=1e-5, sliding_window=5,
                                original_max_position_embeddings=256,
                                rope_parameters={"rope_type": "default", "rope_theta": 10000.0})),
}


# Norm weights stored as offsets from 1: (1 + w).
PLUS_ONE_NORMS = {"gemma2", "gemma3_text"}


def init_weights(model, seed):
    """Random but non-trivial: matrices and biases N(0, 0.08), norm scales 1 + N(0, 0.1)."""
    g = torch.Generator().manual_seed(seed)
    unit = 0.0 if model.config.model_type in PLUS_ONE_NORMS else 1.0
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if "norm" in name:
                p.copy_(unit + 0.1 * noise)
            else:
                p.copy_(0.08 * noise)


def make_inputs(vocab, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab, size=(B, T)).astype(np.int64)
    labels = ids.copy()
    labels[0, :7] = -100          # a prompt
    labels[1, :4] = -100          # a prompt and a masked span inside the response
    labels[1, 10:13] = -100
    single = np.arange(0, vocab, vocab // SINGLE_TOKENS)[:SINGLE_TOKENS].astype(np.int64)
    return ids, labels, single, ids[:1, :GREEDY_PROMPT].copy()


def expected_tensors(model, ids, labels, single, prompt):
    e = {"input_ids": ids.astype(np.int32), "labels": labels.astype(np.int32)}
    logits, nxt, hidden, attentions = forward_outputs(model, ids)
    e["logits"] = logits.numpy()
    e["next_token_logprob"] = nxt.numpy()
    e["final_hidden"] = hidden.float().numpy()
    for l, a in enumerate(attentions):
        e[f"attention.{l}"] = a.float().numpy()
    ri = attention_received(attentions)
    e["ri_last_layer"] = ri[-1].float().numpy()
    e["ri_all_layers"] = (sum(ri) / len(ri)).float().numpy()
    with torch.no_grad():
        e["single_token_ids"] = single.astype(np.int32)
        e["single_token_final_hidden"] = model.model(torch.tensor(single)[:, None]).last_hidden_state[:, 0].float().numpy()

    n = int((labels[:, 1:] != -100).sum())
    model.zero_grad()
    loss = shifted_loss_sum(model, ids, labels)
    loss.backward()
    e["loss_sum"] = np.array([loss.item()], dtype=np.float32)
    e["n_unmasked"] = np.array([n], dtype=np.int32)
    with torch.no_grad():
        e["hf_loss_mean"] = np.array([model(torch.tensor(ids), labels=torch.tensor(labels)).loss.item()], dtype=np.float32)
    for name, p in model.named_parameters():
        e["grad." + name] = p.grad.float().numpy().copy()
    model.zero_grad()

    with torch.no_grad():
        out = model.generate(torch.tensor(prompt), max_new_tokens=GREEDY_NEW, min_new_tokens=GREEDY_NEW,
                             do_sample=False, eos_token_id=None, pad_token_id=0)
    e["greedy_prompt"] = prompt.astype(np.int32)
    e["greedy_output"] = out.numpy().astype(np.int32)

    # Last: AdamW changes the weights.
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    losses = []
    for _ in range(ADAMW_STEPS):
        opt.zero_grad()
        loss = shifted_loss_sum(model, ids, labels) / n
        losses.append(loss.item())
        loss.backward()
        opt.step()
    e["adamw_losses"] = np.array(losses, dtype=np.float32)
    return e


def bf16_expected(model, ids, labels):
    e = {"input_ids": ids.astype(np.int32), "labels": labels.astype(np.int32)}
    logits, nxt, hidden, _ = forward_outputs(model, ids)
    e["logits"], e["next_token_logprob"], e["final_hidden"] = logits.numpy(), nxt.numpy(), hidden.float().numpy()
    return e


# One key: safetensors writes several in no fixed order, and reruns should give the same bytes.
METADATA = {
    "generator": f"scripts/make_hf_fixture.py: transformers {transformers.__version__}, torch {torch.__version__}; "
            "next_token_logprob[b,t] = log p(ids[b,t+1] | ids[b,:t+1]); labels -100 = ignored; loss_sum and grad.* "
            "use the unmasked shifted labels; ri_* = attention received, mean over heads and later queries (last "
            "position NaN); adamw: lr 1e-3, betas .9/.999, eps 1e-8, wd 0.01 on every parameter, loss = sum/n_unmasked",
}


def load_model(directory, dtype=torch.float32):
    return transformers.AutoModelForCausalLM.from_pretrained(directory, dtype=dtype, attn_implementation="eager").eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=sorted(ARCHITECTURES))
    ap.add_argument("--from", dest="source", help="reuse this fixture's config, weights and inputs")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=18)
    args = ap.parse_args()
    if (args.arch is None) == (args.source is None):
        ap.error("give exactly one of --arch and --from")
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)

    if args.arch:
        class_name, extra = ARCHITECTURES[args.arch]
        config = getattr(transformers, class_name)(**{**COMMON, **extra})
        model = transformers.AutoModelForCausalLM.from_config(config, attn_implementation="eager").float().eval()
        init_weights(model, args.seed)
        model.save_pretrained(args.out, safe_serialization=True)
        ids, labels, single, prompt = make_inputs(config.vocab_size, args.seed)
    else:
        for f in ["config.json", "model.safetensors", "generation_config.json"]:
            shutil.copy(os.path.join(args.source, f), args.out)
        with safe_open(os.path.join(args.source, "expected.safetensors"), "np") as f:
            ids, labels = f.get_tensor("input_ids").astype(np.int64), f.get_tensor("labels").astype(np.int64)
            single, prompt = f.get_tensor("single_token_ids").astype(np.int64), f.get_tensor("greedy_prompt").astype(np.int64)
    model = load_model(args.out)
    save_file(expected_tensors(model, ids, labels, single, prompt), os.path.join(args.out, "expected.safetensors"),
              metadata=METADATA)

    bf16_dir = os.path.join(args.out, "bf16")
    load_model(args.out).to(torch.bfloat16).save_pretrained(bf16_dir, safe_serialization=True)
    # Computed in fp32 from the bf16-rounded weights.
    save_file(bf16_expected(load_model(bf16_dir, torch.float32), ids, labels),
              os.path.join(bf16_dir, "expected.safetensors"), metadata=METADATA)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

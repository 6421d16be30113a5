#!/usr/bin/env python3
"""How evenly `xtf train` shares its global batches among ranks (issue #19), without running it.

Reads a scoring run's masked.jsonl (the training samples, in order), rebuilds the trainer's
epoch permutation (Trainer.permutation: SeededRandom, xoshiro256** seeded by SplitMix64) and
prints, per step, each rank's tokens and micro-batches when samples are dealt in turn and when
they are shared by tokens (BatchSplit), then the slower rank's tokens summed over the steps
as a multiple of an even share. Assumes no validation split and seed 0 unless told.

  python3 scripts/batch_split_loads.py RUN/masked.jsonl --ranks 2 --batch 8 --micro-batch-tokens 1024
"""
import argparse
import json

M = (1 << 64) - 1


def splitmix(seed):
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) & M
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        yield z ^ (z >> 31)


def permutation(n, seed, epoch):
    g = splitmix((seed * 0x9E3779B97F4A7C15 + epoch + 1) & M)
    s = [next(g) for _ in range(4)]
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        b5 = (s[1] * 5) & M
        r = ((((b5 << 7) | (b5 >> 57)) & M) * 9) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t
        s[3] = ((s[3] << 45) | (s[3] >> 19)) & M
        j = r % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def by_tokens(lengths, ranks):
    load, shares = [0] * ranks, [[] for _ in range(ranks)]
    for i in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        k = min(range(ranks), key=lambda k: (load[k], k))
        load[k] += lengths[i]
        shares[k].append(i)
    return [sorted(s) for s in shares]


def micro_batches(lengths, cap):
    out, used = [], 0
    for n in lengths:
        if used and used + n > cap:
            out.append(used)
            used = 0
        used += n
    return out + ([used] if used else [])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("masked")
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--micro-batch-tokens", type=int, default=2048)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=1)
    args = ap.parse_args()
    lengths = [len(json.loads(line)["input_ids"]) for line in open(args.masked)]
    worst = {"in turn": 0, "by tokens": 0}
    even = 0
    for epoch in range(args.epochs):
        order = permutation(len(lengths), args.seed, epoch)
        for k in range(0, len(order), args.batch):
            batch = [lengths[i] for i in order[k:k + args.batch]]
            split = {"in turn": [list(range(r, len(batch), args.ranks)) for r in range(args.ranks)],
                     "by tokens": by_tokens(batch, args.ranks)}
            line = [f"epoch {epoch} step {k // args.batch + 1}:"]
            for name, shares in split.items():
                tokens = [sum(batch[i] for i in s) for s in shares]
                micro = [micro_batches([batch[i] for i in s], args.micro_batch_tokens) for s in shares]
                worst[name] += max(tokens)
                line.append(f"{name} tokens {tokens} micro-batches {micro}")
            even += sum(batch) / args.ranks
            print("  ".join(line))
    print("slower rank's tokens / even share, summed over the steps: "
          + ", ".join(f"{name} {w / even:.3f}" for name, w in worst.items()))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Why reasoning importance (RI) finds no injected noise on the ground-truth benchmark.

Reads a scored run's tokens.jsonl and the labelled train.jsonl, and prints (Markdown):
  - how many response tokens the per-sample rule RI < Q1 - k * IQR flags for several k, and
    the precision and recall of those flags against the injected noise;
  - how much of RI is position: the rank correlation of a token's RI with its position in
    the response, and the AUROC of "low RI" and of "early position" for the noise labels.

    scripts/ri_analysis.py runs/demo/score runs/demo-data/train.jsonl
"""
import json
import math
import sys


def quantile(sorted_values, q):
    x = q * (len(sorted_values) - 1)
    i = int(x)
    f = x - i
    return sorted_values[i] * (1 - f) + sorted_values[i + 1] * f if i + 1 < len(sorted_values) else sorted_values[i]


def ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            result[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return result


def auroc(scores, positive):
    r = ranks(scores)
    p = sum(positive)
    n = len(positive) - p
    if p == 0 or n == 0:
        return float("nan")
    return (sum(ri for ri, y in zip(r, positive) if y) - p * (p + 1) / 2) / (p * n)


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    n = len(a)
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = sum((x - ma) ** 2 for x in ra) ** 0.5
    vb = sum((y - mb) ** 2 for y in rb) ** 0.5
    return cov / (va * vb)


def labelled_tokens(run, labels):
    problems = {}
    with open(labels) as f:
        for n, line in enumerate(f, 1):
            problems[n] = json.loads(line)
    samples = []
    with open(f"{run}/tokens.jsonl") as f:
        for line in f:
            record = json.loads(line)
            problem = problems[int(record["id"].rsplit(":", 1)[1])]
            # tokens.jsonl shows control characters escaped; map shown bytes to answer bytes.
            shown, origin, at = b"", [], 0
            for ch in problem["answer"]:
                text = ch.encode("unicode_escape").decode() if ch in "\n\t\r" else ch
                for b in text.encode():
                    shown += bytes([b])
                    origin.append(at)
                at += len(ch.encode())
            origin.append(at)
            offset, tokens = 0, []
            for i, piece in enumerate(record["tokens"]):
                width = len(piece.encode())
                if offset == len(shown) and i > 0:  # the end-of-text token appended to the answer: clean
                    tokens.append({"noise": False, "ri": record["ri"][i], "text": piece,
                                   "position": i / max(1, len(record["tokens"]) - 1)})
                    continue
                start, end = origin[offset], origin[offset + width]
                overlap = sum(max(0, min(s["end"], end) - max(s["start"], start)) for s in problem["noise"])
                tokens.append({"noise": 2 * overlap > end - start, "ri": record["ri"][i], "text": piece,
                               "position": i / max(1, len(record["tokens"]) - 1)})
                offset += width
            samples.append(tokens)
    return samples


def main(run, labels):
    samples = labelled_tokens(run, labels)
    all_tokens = [t for s in samples for t in s if t["ri"] is not None]
    positives = sum(t["noise"] for t in all_tokens)
    print(f"{len(samples)} samples, {len(all_tokens)} response tokens with an RI score, {positives} injected noise\n")
    print("| k | samples whose fence Q1 - k IQR is below 0 (can flag nothing) | samples whose fence is above their lowest RI | tokens flagged | precision | recall |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for k in (1.5, 1.0, 0.5, 0.0):
        below_zero, reach, flagged, hits = 0, 0, 0, 0
        for s in samples:
            ri = sorted(t["ri"] for t in s if t["ri"] is not None)
            if len(ri) < 4:
                continue
            q1, q3 = quantile(ri, 0.25), quantile(ri, 0.75)
            fence = q1 - k * (q3 - q1)
            below_zero += fence < 0
            reach += fence > ri[0]
            for t in s:
                if t["ri"] is not None and t["ri"] < fence:
                    flagged += 1
                    hits += t["noise"]
        precision = hits / flagged if flagged else 0
        print(f"| {k} | {below_zero} of {len(samples)} | {reach} of {len(samples)} | {flagged} | {precision:.3f} | {hits / max(1, positives):.3f} |")
    print("\nThe same rule on log RI (`--ri-fence log-iqr`), before the per-sample cap:\n")
    print("| k | samples whose fence is above their lowest RI | tokens flagged | precision | recall | most flagged tokens |")
    print("| ---: | ---: | ---: | ---: | ---: | --- |")
    for k in (1.5, 1.0):
        reach, flagged, hits, texts = 0, 0, 0, {}
        for s in samples:
            logs = sorted(math.log(max(t["ri"], 1.1754944e-38)) for t in s if t["ri"] is not None)
            if len(logs) < 4:
                continue
            q1, q3 = quantile(logs, 0.25), quantile(logs, 0.75)
            fence = q1 - k * (q3 - q1)
            reach += fence > logs[0]
            for t in s:
                if t["ri"] is not None and math.log(max(t["ri"], 1.1754944e-38)) < fence:
                    flagged += 1
                    hits += t["noise"]
                    texts[t["text"]] = texts.get(t["text"], 0) + 1
        precision = hits / flagged if flagged else 0
        top = ", ".join(f"`{json.dumps(text)[1:-1]}` {count}" for text, count in sorted(texts.items(), key=lambda x: -x[1])[:6])
        print(f"| {k} | {reach} of {len(samples)} | {flagged} | {precision:.3f} | {hits / max(1, positives):.3f} | {top} |")
    ri = [t["ri"] for t in all_tokens]
    position = [t["position"] for t in all_tokens]
    noise = [t["noise"] for t in all_tokens]
    print(f"\nRank correlation of RI with position in the response: {spearman(ri, position):.3f}")
    print(f"AUROC for the noise labels: low RI {auroc([-x for x in ri], noise):.3f}, "
          f"early position {auroc([-x for x in position], noise):.3f}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

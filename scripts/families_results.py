#!/usr/bin/env python3
"""The noise-family tables from the committed run summaries (docs/results/FAMILY/*.json,
written by scripts/families.sh): per family and surface, every arm's exact match (mean over
the runs, and each run's), its difference to normal with a 95% paired-bootstrap interval
over the pooled items of all runs (each run's items paired with its own normal arm), and the
share of the oracle gap it recovers, (arm - normal) / (oracle - normal). A comparison script:
it reads only the summaries.

    scripts/families_results.py [RESULTS_DIR]      # prints Markdown
"""
import glob
import json
import os
import random
import statistics
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "docs/results"
runs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(root, "*", "*.json")))]


def paired_interval(pairs, resamples=4000, seed=1):
    """mean(a - b) and its 2.5% / 97.5% bootstrap quantiles over item pairs."""
    deltas = [a - b for a, b in pairs]
    rng = random.Random(seed)
    n = len(deltas)
    means = sorted(sum(deltas[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    return sum(deltas) / n, means[int(0.025 * (resamples - 1))], means[int(0.975 * (resamples - 1))]


groups = {}
for run in runs:
    groups.setdefault((run["family"], run["surface"]), []).append(run)

print("| family | surface | runs (data-train seeds) | arm | exact match (mean) | per run | vs normal [95% CI] | share of the oracle gap |")
print("| --- | ---: | --- | --- | ---: | --- | --- | ---: |")
for (family, surface), members in sorted(groups.items()):
    names = [a["arm"] for a in members[0]["arms"]]
    seeds = ", ".join(f"{r['dataSeed']}-{r['trainSeed']}" for r in members)
    gaps = {}
    for name in names:
        pairs, metrics = [], []
        for run in members:
            arms = {a["arm"]: a for a in run["arms"]}
            if name not in arms or "normal" not in arms:
                continue
            metrics.append(arms[name]["metric"] or 0)
            mine, normal = arms[name]["grades"], arms["normal"]["grades"]
            pairs += [(int(x), int(y)) for x, y in zip(mine, normal)]
        if not pairs:
            continue
        d, low, high = paired_interval(pairs)
        gaps[name] = d
        share = ""
        # Only where the oracle gains something is a share of its gain defined.
        if "oracle" in gaps and name not in ("normal", "oracle", "base", "clean") and gaps["oracle"] > 0:
            share = f"{d / gaps['oracle']:.2f}"
        print(f"| {family} | {surface} | {seeds} | {name} | {statistics.mean(metrics):.3f} | "
              f"{', '.join(f'{m:.3f}' for m in metrics)} | {d:+.3f} [{low:+.3f}, {high:+.3f}] | {share} |")

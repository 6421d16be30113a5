#!/usr/bin/env python3
"""The noise-family tables from the committed run summaries (docs/results/FAMILY/*.json,
written by scripts/families.sh): per family, surface and seed role (the data seeds where
variants were chosen, kept apart from the held-out ones), every arm's exact match (mean over
the runs, and each run's), its difference to normal (each run's items paired with its own
normal arm) with a 95% two-level bootstrap interval (runs, then items within them), and the
share of the oracle gap it recovers, (arm - normal) / (oracle - normal), over the same runs
where the oracle's own gain has an interval above 0 (blank elsewhere), and each run's count
of generations that write the answer marker early (where the summary records it). A
comparison script: it reads only the summaries.

    scripts/families_results.py [--family NAME]... [--held-out] [RESULTS_DIR]      # prints Markdown
"""
import argparse
import glob
import json
import os
import statistics

import numpy as np


def load_runs(root):
    """Every committed run summary under root (docs/results/FAMILY/*.json)."""
    return [json.load(open(p)) for p in sorted(glob.glob(os.path.join(root, "*", "*.json")))]


def grade_pairs(runs, arm, against="normal"):
    """Per run, the (arm, against) grade of each test item; None when a run lacks the arm."""
    out = []
    for run in runs:
        arms = {a["arm"]: a for a in run["arms"]}
        if arm not in arms or against not in arms:
            return None
        out.append([(int(x), int(y)) for x, y in zip(arms[arm]["grades"], arms[against]["grades"])])
    return out


def paired_interval(runs_pairs, resamples=4000, seed=1):
    """mean(a - b) over the pooled item pairs, and 2.5% / 97.5% quantiles of a two-level
    bootstrap: the runs (training and data seeds) resampled, then the items within each run,
    so the interval carries the spread between training seeds as well as the items'.
    Resampling a run's n items with replacement is drawn as one multinomial over its distinct
    differences (the same distribution, without drawing each item)."""
    deltas = [np.asarray([a - b for a, b in pairs], dtype=np.int64) for pairs in runs_pairs]
    rng = np.random.default_rng(seed)
    picks = rng.integers(len(deltas), size=(resamples, len(deltas)))
    totals = np.zeros(resamples)
    for r, run in enumerate(deltas):
        rows = np.nonzero(picks == r)[0]  # one entry per time a resample picked run r
        if len(rows) == 0:
            continue
        values, frequency = np.unique(run, return_counts=True)
        draws = rng.multinomial(len(run), frequency / len(run), size=len(rows))
        np.add.at(totals, rows, draws @ values)
    counts = np.array([len(run) for run in deltas])[picks].sum(axis=1)
    means = np.sort(totals / counts)
    pooled = np.concatenate(deltas)
    return float(pooled.mean()), float(means[int(0.025 * (resamples - 1))]), float(means[int(0.975 * (resamples - 1))])


def role(run):
    """Where a run's data seed sits in the protocol: variants were chosen on surface 1's data
    seeds 1-3; surface 1's seeds 4-6 and every seed of surface 2 are held out. Never pooled."""
    return "choosing" if run["surface"] == 1 and run["dataSeed"] <= 3 else "held out"


def main():
    parser = argparse.ArgumentParser(description="The noise-family tables from the committed run summaries.")
    parser.add_argument("results", nargs="?", default="docs/results")
    parser.add_argument("--family", action="append", help="only this family (repeatable)")
    parser.add_argument("--held-out", action="store_true", help="only the held-out seeds")
    args = parser.parse_args()
    runs = [run for run in load_runs(args.results)
            if (not args.family or run["family"] in args.family) and (not args.held_out or role(run) == "held out")]
    groups = {}
    for run in runs:
        groups.setdefault((run["family"], run["surface"], role(run), run.get("noiseRate")), []).append(run)

    print("| family | surface | seeds | noise rate | runs (data-train seeds) | arm | exact match (mean) | per run | vs normal [95% CI] | share of the oracle gap | early markers (per run) |")
    print("| --- | ---: | --- | ---: | --- | --- | ---: | --- | --- | ---: | --- |")
    for (family, surface, seeds_role, rate), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[0][3] or 0)):
        names = []
        for run in members:
            names += [a["arm"] for a in run["arms"] if a["arm"] not in names]
        for name in names:
            # An arm of the official LoRA protocol is compared with that protocol's normal and
            # oracle arms, every other arm with full fine-tuning's.
            lora = "-lora" if name.endswith("-lora") else ""
            normal, oracle_arm = "normal" + lora, "oracle" + lora
            with_arm = [r for r in members if {name, normal} <= {a["arm"] for a in r["arms"]}]
            if not with_arm:
                continue
            rows = [next(a for a in r["arms"] if a["arm"] == name) for r in with_arm]
            metrics = [row["metric"] or 0 for row in rows]
            early = [row.get("earlyMarkers") for row in rows]
            markers = "" if None in early else ", ".join(map(str, early))
            d, low, high = paired_interval(grade_pairs(with_arm, name, against=normal))
            share = ""
            # A share of the oracle's gain, over the same runs, only where the oracle's gain is
            # clear (its interval above 0): a share of a gain that may be nothing means nothing.
            oracle = None
            if name not in (normal, oracle_arm, "base", "clean"):
                oracle = grade_pairs(with_arm, oracle_arm, against=normal)
            if oracle:
                gain, gain_low, _ = paired_interval(oracle)
                if gain_low > 0:
                    share = f"{d / gain:.2f}"
            seeds = ", ".join(f"{r['dataSeed']}-{r['trainSeed']}" for r in with_arm)
            versus = f"{d:+.3f} [{low:+.3f}, {high:+.3f}]" + (f" (vs {normal})" if lora else "")
            print(f"| {family} | {surface} | {seeds_role} | {rate if rate is not None else 'default'} | {seeds} | {name} | {statistics.mean(metrics):.3f} | "
                  f"{', '.join(f'{m:.3f}' for m in metrics)} | {versus} | {share} | {markers} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Issue #17's pilot rule, applied to the committed run summaries of the choosing seeds (data
seeds 1-3, surface 1). A family at a noise rate passes when all three conditions hold:

  A. In every data seed (1, 2 and 3, each with at least two training seeds): oracle - normal
     and clean - normal are >= 0.08, and their 95% intervals exclude 0. Each data seed's
     difference is the mean over its training seeds (items paired with their own run's
     normal arm); the interval is the two-level bootstrap of families_results.py over that
     data seed's runs, so a training seed that disagrees widens it.
  B. Random masking ~ normal: the interval of random - normal over all the runs includes 0.
  C. The harm grows with the rate: clean - normal increases with the rate, over the data
     seeds measured at every rate of the family (each data seed the mean over its training
     seeds, the data seeds weighted alike), so each rate is judged on the same problems.

The issue asks for two training seeds per data seed and the gains "in every data seed"; the
first pilots (one training seed) read the rule per run. A comparison script: it reads only
the summaries.

    scripts/families_pilot.py [RESULTS_DIR]      # prints Markdown
"""
import sys

from families_results import grade_pairs, load_runs, paired_interval

CHOOSING_SEEDS = (1, 2, 3)
MIN_TRAIN_SEEDS = 2
MIN_GAIN = 0.08
DEFAULT_RATE = {"mixed": 0.5, "early-answer": 0.5, "headings": 0.5}  # the others: 0.8 (NoiseFamily.defaultRate)


def rate_of(run):
    return run.get("noiseRate") or DEFAULT_RATE.get(run["family"], 0.8)


def with_arms(runs, *names):
    return [r for r in runs if set(names) <= {a["arm"] for a in r["arms"]}]


def fmt(d, low, high):
    return f"{d:+.3f} [{low:+.3f}, {high:+.3f}]"


def main():
    runs = [r for r in load_runs(sys.argv[1] if len(sys.argv) > 1 else "docs/results")
            if r["surface"] == 1 and r["dataSeed"] in CHOOSING_SEEDS]
    groups = {}
    for run in runs:
        groups.setdefault((run["family"], rate_of(run)), []).append(run)

    # Condition C: clean - normal at each rate of a family, on the data seeds every rate has.
    per_seed = {}  # family -> rate -> data seed -> clean - normal (mean over training seeds)
    for (family, rate), members in groups.items():
        for seed in CHOOSING_SEEDS:
            controls = with_arms([r for r in members if r["dataSeed"] == seed], "normal", "clean")
            if controls:
                pairs = [d for run in grade_pairs(controls, "clean") for d in run]
                gain = sum(a - b for a, b in pairs) / len(pairs)
                per_seed.setdefault(family, {}).setdefault(rate, {})[seed] = gain
    harm = {}
    for family, rates in per_seed.items():
        shared = set.intersection(*(set(seeds) for seeds in rates.values()))
        harm[family] = (sorted(shared), sorted((rate, sum(seeds[s] for s in shared) / len(shared)) for rate, seeds in rates.items()) if shared else [])

    print("| family | noise rate | data seed | training seeds | oracle - normal [95% CI] | clean - normal [95% CI] | random - normal [95% CI] | A holds |")
    print("| --- | ---: | ---: | --- | --- | --- | --- | --- |")
    verdicts = []
    for (family, rate), members in sorted(groups.items()):
        per_seed_ok = []
        for seed in CHOOSING_SEEDS:
            seed_runs = sorted(with_arms([r for r in members if r["dataSeed"] == seed], "normal", "oracle", "clean"),
                               key=lambda r: r["trainSeed"])
            if not seed_runs:
                per_seed_ok.append(False)
                continue
            oracle = paired_interval(grade_pairs(seed_runs, "oracle"))
            clean = paired_interval(grade_pairs(seed_runs, "clean"))
            random_runs = with_arms(seed_runs, "random")
            random = fmt(*paired_interval(grade_pairs(random_runs, "random"))) if random_runs else ""
            enough = len(seed_runs) >= MIN_TRAIN_SEEDS
            ok = enough and all(d >= MIN_GAIN and low > 0 for d, low, _ in (oracle, clean))
            per_seed_ok.append(ok)
            seeds = ", ".join(str(r["trainSeed"]) for r in seed_runs)
            holds = "yes" if ok else ("no" if enough else f"no (fewer than {MIN_TRAIN_SEEDS} training seeds)")
            print(f"| {family} | {rate} | {seed} | {seeds} | {fmt(*oracle)} | {clean and fmt(*clean)} | {random} | {holds} |")
        random_runs = with_arms(members, "normal", "random")
        if random_runs:
            d, low, high = paired_interval(grade_pairs(random_runs, "random"))
            b = "yes" if low <= 0 <= high else "no"
            b += f" ({fmt(d, low, high)})"
        else:
            b = "not measured"
        shared, curve = harm.get(family, ([], []))
        c = "yes" if len(curve) > 1 and all(x[1] < y[1] for x, y in zip(curve, curve[1:])) else "no"
        if len(curve) < 2:
            c = "one rate only" if shared else "no data seed at every rate"
        c += " (" + ", ".join(f"{r}: {h:+.3f}" for r, h in curve) + (f"; on data seed{'s' if len(shared) > 1 else ''} {', '.join(map(str, shared))}" if shared else "") + ")"
        verdicts.append((family, rate, all(per_seed_ok), b, c))

    print()
    print("| family | noise rate | A: oracle and clean >= 0.08 in every data seed | B: random ~ normal | C: clean - normal grows with the rate | pilot passed |")
    print("| --- | ---: | --- | --- | --- | --- |")
    for family, rate, a, b, c in verdicts:
        passed = a and b.startswith("yes") and c.startswith("yes")
        print(f"| {family} | {rate} | {'yes' if a else 'no'} | {b} | {c} | {'**yes**' if passed else 'no'} |")


if __name__ == "__main__":
    main()

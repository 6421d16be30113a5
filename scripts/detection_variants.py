#!/usr/bin/env python3
"""Issue #17, item 4: the mask variants tried on detection first (no training). For each
scored ground-truth directory given, copies its score directory to a scratch place, recomputes
the masks under each variant with `xtf mask`, and measures them against the labelled noise
with `xtf groundtruth report`. Prints Markdown: per directory and variant, the masked share of
response tokens and the union's precision, lift (precision over the share of noise tokens: 1
is a mask chosen at random), recall, span F1 and opening recall; then the same averaged over
the directories of each family; then each attribute's AUROC.

    scripts/detection_variants.py [--xtf BIN] DIR...   # DIR: an `xtf run` directory of the
        # families (score/ inside, labels from run.json), a families data directory
        # (score/ and train.jsonl inside: scripts/families_detection.sh), or a score
        # directory beside a train.jsonl (MODEL=... scripts/families_detection.sh)
    scripts/detection_variants.py --attributes DIR...  # only each attribute's AUROC

Takes about 5 s per directory and variant on 2 cores. The prompt-gain variants need scores
made with --prompt-free-pcp and are left out (with a note) where they are missing.
"""
import argparse, json, os, shutil, subprocess, sys, tempfile

VARIANTS = [
    ("paper", []),
    ("official TR class rule", ["--tr-class-rule", "official"]),
    ("official KN cap count", ["--kn-cap-count", "official"]),
    ("log-IQR RI fence", ["--ri-fence", "log-iqr"]),
    ("coverage guard 0.3", ["--coverage-guard", "0.3"]),
    ("span closure 0.5", ["--span-closure", "0.5"]),
    ("guard 0.3 + closure 0.5", ["--coverage-guard", "0.3", "--span-closure", "0.5"]),
    ("log-IQR + guard + closure", ["--ri-fence", "log-iqr", "--coverage-guard", "0.3", "--span-closure", "0.5"]),
    # KN alone with room to flag a whole aside: its AUROC is the only one above 0.7 (seed 1).
    ("KN only, cap 0.3", ["--attributes", "kn", "--caps", "0.05", "0.3", "0.05"]),
    ("KN only, cap 0.3 + closure 0.5", ["--attributes", "kn", "--caps", "0.05", "0.3", "0.05", "--span-closure", "0.5"]),
    ("KN only, tau 0.8, cap 0.3 + closure 0.5",
     ["--attributes", "kn", "--tau-kn", "0.8", "--caps", "0.05", "0.3", "0.05", "--span-closure", "0.5"]),
    ("TR only, C1-C2, cap 0.2 + closure 0.5",
     ["--attributes", "tr", "--flag-classes", "1", "2", "--caps", "0.05", "0.1", "0.2", "--span-closure", "0.5"]),
    ("prompt-gain KN (union)", ["--kn-score", "prompt-gain"]),
    ("prompt-gain KN only, cap 0.3 + closure 0.5",
     ["--attributes", "kn", "--kn-score", "prompt-gain", "--caps", "0.05", "0.3", "0.05", "--span-closure", "0.5"]),
    # Added after seed 1 of wrong-sum: the prompt gain alone flags 61% of the asides' openings there.
    ("prompt-gain KN only, cap 0.3 + closure 0.3",
     ["--attributes", "kn", "--kn-score", "prompt-gain", "--caps", "0.05", "0.3", "0.05", "--span-closure", "0.3"]),
    ("prompt-gain KN only, below 0.2, cap 0.3 + closure 0.5",
     ["--attributes", "kn", "--kn-score", "prompt-gain", "--kn-gain-below", "0.2", "--caps", "0.05", "0.3", "0.05", "--span-closure", "0.5"]),
    ("prompt-gain KN only, below 1.0, cap 0.3 + closure 0.5",
     ["--attributes", "kn", "--kn-score", "prompt-gain", "--kn-gain-below", "1.0", "--caps", "0.05", "0.3", "0.05", "--span-closure", "0.5"]),
    ("prompt-gain KN only, cap 0.5 + closure 0.5",
     ["--attributes", "kn", "--kn-score", "prompt-gain", "--caps", "0.05", "0.5", "0.05", "--span-closure", "0.5"]),
]
PROMPT_GAIN = "--kn-score"
# Tried on data seed 1 only (docs/results/detection-d1-first-pass.md): they flag next to nothing (the guards)
# or the same as the paper's rules (the fence, the closure alone). Left out unless --all.
SEED1_ONLY = {"log-IQR RI fence", "coverage guard 0.3", "span closure 0.5", "guard 0.3 + closure 0.5",
              "log-IQR + guard + closure", "KN only, cap 0.3"}

def describe(directory):
    """(name, score directory, labels) of a run directory, a families data directory, or a
    score directory inside one (another model's scores: DATA/score-MODEL)."""
    directory = directory.rstrip("/")
    if os.path.exists(os.path.join(directory, "stats.json")):
        score, labels = directory, os.path.join(os.path.dirname(directory), "train.jsonl")
    elif os.path.exists(os.path.join(directory, "run.json")):
        score = os.path.join(directory, "score")
        labels = json.load(open(os.path.join(directory, "run.json")))["groundTruthLabels"]
    else:
        score, labels = os.path.join(directory, "score"), os.path.join(directory, "train.jsonl")
    # FAMILY/DATA (WORK/FAMILY/sS-dD...), from the data directory holding the labels.
    data = os.path.dirname(os.path.abspath(labels))
    name = os.path.join(os.path.basename(os.path.dirname(data)), os.path.basename(data))
    if os.path.basename(score) != "score":
        name = os.path.join(name, os.path.basename(score))
    return name, score, labels

def has_prompt_free(score):
    settings = json.load(open(os.path.join(score, "settings.json")))
    return bool(settings.get("promptFreePCP"))

def detection(xtf, score, labels, flags, scratch):
    subprocess.run([xtf, "mask", score, "--quiet"] + flags, check=True, stdout=subprocess.DEVNULL)
    report = os.path.join(scratch, "detection.json")
    subprocess.run([xtf, "groundtruth", "report", score, "--labels", labels, "--json", report],
                   check=True, stdout=subprocess.DEVNULL)
    masked = json.load(open(os.path.join(score, "stats.json")))["report"]["maskedFraction"]
    return masked, {(r["attribute"], r["kind"]): r for r in json.load(open(report))["rows"]}

COLUMNS = ("noise share", "masked", "precision", "lift", "recall", "span F1", "opening recall")

def row_values(masked, union):
    """Lift: precision over the share of noise tokens, what a mask picking tokens at random has."""
    total = union["positives"] + union["negatives"]
    share = union["positives"] / total if total else 0.0
    lift = union["precision"] / share if share else float("nan")
    return [share, masked, union["precision"], lift, union["recall"], union["spanF1"], union["openingRecall"]]

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--xtf", default=os.environ.get("XTF_BIN", ".build/release/xtf"))
    parser.add_argument("--attributes", action="store_true")
    parser.add_argument("--all", action="store_true", help="also the variants tried on data seed 1 only")
    parser.add_argument("dirs", nargs="+")
    args = parser.parse_args()
    runs = [describe(d) for d in args.dirs]
    aurocs = {}
    results = {}   # (family, variant) -> list of row values
    if not args.attributes:
        print("| run | variant | " + " | ".join(COLUMNS) + " |")
        print("| --- | --- |" + " ---: |" * len(COLUMNS))
    for name, score_dir, labels in runs:
        family = name.split("/")[0]
        prompt_free = has_prompt_free(score_dir)
        with tempfile.TemporaryDirectory() as scratch:
            score = os.path.join(scratch, "score")
            shutil.copytree(score_dir, score)
            variants = VARIANTS[:1] if args.attributes else [v for v in VARIANTS if args.all or v[0] not in SEED1_ONLY]
            for variant, flags in variants:
                if PROMPT_GAIN in flags and not prompt_free:
                    print(f"detection_variants: {name}: '{variant}' left out: scored without --prompt-free-pcp", file=sys.stderr)
                    continue
                masked, rows = detection(args.xtf, score, labels, flags, scratch)
                if variant == "paper":
                    aurocs[name] = {a: rows[(a, "all")]["auroc"] for a in ("ri", "kn", "tr", "union", "kn-gain") if (a, "all") in rows}
                if args.attributes:
                    continue
                values = row_values(masked, rows[("union", "all")])
                results.setdefault((family, variant), []).append(values)
                print(f"| {name} | {variant} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
                sys.stdout.flush()
    if results:
        print()
        print("Means over the directories of each family:")
        print()
        print("| family | variant | runs | " + " | ".join(COLUMNS) + " |")
        print("| --- | --- | ---: |" + " ---: |" * len(COLUMNS))
        for (family, variant), rows in results.items():
            means = [sum(r[i] for r in rows) / len(rows) for i in range(len(COLUMNS))]
            print(f"| {family} | {variant} | {len(rows)} | " + " | ".join(f"{v:.3f}" for v in means) + " |")
        print()
    print("Each attribute's AUROC against the labelled noise (the raw score; `kn-gain`: the prompt gain, where scored):")
    print()
    print("| run | RI | KN | TR | union | kn-gain |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, values in aurocs.items():
        cells = [f"{values[a]:.3f}" if a in values else "" for a in ("ri", "kn", "tr", "union", "kn-gain")]
        print(f"| {name} | " + " | ".join(cells) + " |")

main()

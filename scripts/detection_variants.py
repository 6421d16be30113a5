#!/usr/bin/env python3
"""Issue #17, item 4: the mask variants tried on detection first (no training). For each
scored ground-truth run given, copies its score directory to a scratch place, recomputes the
masks under each variant with `xtf mask`, and measures them against the labelled noise with
`xtf groundtruth report`. Prints one Markdown table: per run and variant, the masked share of
response tokens and the union's precision, recall, span F1 and opening recall.

    scripts/detection_variants.py [--xtf BIN] RUN_DIR...    # RUN_DIR: an `xtf run` directory
                                                            # of the families (score/ inside)
    scripts/detection_variants.py --attributes RUN_DIR...   # each attribute's AUROC, from
                                                            # the run's detection.json

The labels are read from the run's run.json (groundTruthLabels). Takes about 5 s per run
and variant on 2 cores.
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
]

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--xtf", default=os.environ.get("XTF_BIN", ".build/release/xtf"))
    parser.add_argument("--attributes", action="store_true")
    parser.add_argument("runs", nargs="+")
    args = parser.parse_args()
    if args.attributes:
        print("| run | RI | KN | TR | union |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for run in args.runs:
            rows = {r["attribute"]: r for r in json.load(open(os.path.join(run, "detection.json")))["rows"] if r["kind"] == "all"}
            name = os.path.relpath(run, "runs/families") if run.startswith("runs/families") else run
            print(f"| {name} | " + " | ".join(f"{rows[a]['auroc']:.3f}" for a in ("ri", "kn", "tr", "union")) + " |")
        return
    print("| run | variant | masked | precision | recall | span F1 | opening recall | AUROC (union score) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for run in args.runs:
        plan = json.load(open(os.path.join(run, "run.json")))
        labels = plan["groundTruthLabels"]
        name = os.path.relpath(run, "runs/families") if run.startswith("runs/families") else run
        with tempfile.TemporaryDirectory() as scratch:
            score = os.path.join(scratch, "score")
            shutil.copytree(os.path.join(run, "score"), score)
            for variant, flags in VARIANTS:
                subprocess.run([args.xtf, "mask", score, "--quiet"] + flags, check=True, stdout=subprocess.DEVNULL)
                report = os.path.join(scratch, "detection.json")
                subprocess.run([args.xtf, "groundtruth", "report", score, "--labels", labels, "--json", report],
                               check=True, stdout=subprocess.DEVNULL)
                masked = json.load(open(os.path.join(score, "stats.json")))["report"]["maskedFraction"]
                row = next(r for r in json.load(open(report))["rows"] if r["attribute"] == "union" and r["kind"] == "all")
                print(f"| {name} | {variant} | {masked:.3f} | {row['precision']:.3f} | {row['recall']:.3f} | "
                      f"{row['spanF1']:.3f} | {row['openingRecall']:.3f} | {row['auroc']:.3f} |")
                sys.stdout.flush()

main()

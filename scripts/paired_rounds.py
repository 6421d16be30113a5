"""The summary the bench_*_vs_pytorch.sh scripts print for rounds that alternate xtf and PyTorch.

This host's speed drifts by tens of percent over minutes. The two sides of one round run within
minutes of each other, so each round's own ratio (xtf / PyTorch) cancels part of the drift that
the ratio of the two medians keeps. Besides the medians' ratio, the summary gives the median of
the rounds' ratios and a distribution-free interval for it: the k-th smallest and k-th largest
ratio cover the median of the ratios' distribution with probability at least
1 - 2 P(Binomial(n, 1/2) < k) (the sign test's interval), for the largest k whose coverage is at
least 90%; 5 rounds give one (the whole range, 93.8%), 8 rounds the second smallest to the
second largest (93.0%). It assumes independent rounds: slow drift that spans neighbouring
rounds is not covered, and the scripts swap which side runs first every round so that an
effect of the order does not sit in every ratio. A target counts as shown only when the
interval's lower end reaches it (a one-sided bound at about 95%).

Used from the scripts as: sys.path.insert(0, "scripts"); from paired_rounds import summary
"""
import math
import statistics

LEVEL = 0.90


def interval(ratios):
    """(low, high, coverage) of the order-statistic interval for the median, or None when
    even the whole range covers less than LEVEL (fewer than 5 rounds)."""
    n = len(ratios)
    ordered = sorted(ratios)
    best = None
    for k in range(1, n // 2 + 1):
        coverage = 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2 ** n
        if coverage < LEVEL:
            break
        best = (ordered[k - 1], ordered[n - k], coverage)
    return best


def summary(xtf, torch, target=None, label="", names=("xtf", "PyTorch")):
    """One line about paired rounds: xtf[i] and torch[i] were measured in round i (`names`
    says what the two sides are when they are something else)."""
    assert len(xtf) == len(torch) and xtf, f"one {names[0]} and one {names[1]} measurement per round"
    ratios = [x / t for x, t in zip(xtf, torch)]
    text = (f"{label}median {names[0]} / median {names[1]} {statistics.median(xtf) / statistics.median(torch):.2f}x; "
            f"rounds' ratios {', '.join(f'{r:.2f}' for r in ratios)}; "
            f"median of the rounds' ratios {statistics.median(ratios):.2f}x")
    found = interval(ratios)
    if found is None:
        text += f" (no interval from {len(ratios)} rounds: 5 or more give one)"
        if target is not None:
            text += f"; target {target}x: needs 5 or more rounds"
        return text
    low, high, coverage = found
    text += f" ({100 * coverage:.1f}% interval {low:.2f}-{high:.2f}x)"
    if target is not None:
        text += f"; target {target}x: {'shown' if low >= target else 'not shown at this confidence'}"
    return text

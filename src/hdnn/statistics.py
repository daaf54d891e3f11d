"""The tests behind the report's verdicts, on scipy.stats and statsmodels.

Every comparison returns an estimate, a two-sided (1 − 2α) interval (its ends are the one-sided
(1 − α) bounds) and two one-sided p-values: ``p_for``, small when the data decide the unit in the
claim's favour, and ``p_against``, small when they decide it against. ``decide`` turns Holm-adjusted
p-values into `holds`, `does not hold` or `inconclusive`: a noisier unit has a wider interval and
larger p-values in both directions, so it can only become `inconclusive`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttest_ind

HOLDS, FAILS, INCONCLUSIVE = "holds", "does not hold", "inconclusive"
NO_TEST = "no test (one run)"  # the verdict of the paper's single runs, which have no spread
MAX_SEEDS = 1000  # seeds_to_decide searches up to this many per group


@dataclass(frozen=True)
class Test:
    estimate: float
    ci_low: float
    ci_high: float
    p_for: float
    p_against: float
    n: int                 # the smaller group's size
    seeds_to_decide: float  # per group, at the observed means and spreads; nan when decided

    def row(self) -> dict:
        return asdict(self)


def _clean(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return x[np.isfinite(x)]


def welch(a, b, alpha: float) -> tuple[float, float, float, float]:
    """mean(a) − mean(b), its (1 − 2α) Welch interval and degrees of freedom. With no spread in
    either group there is no interval (two groups tied at 100% estimate no spread, not zero)."""
    a, b = _clean(a), _clean(b)
    est = float(a.mean() - b.mean())
    if min(len(a), len(b)) < 2:      # no spread to estimate: no interval
        return est, math.nan, math.nan, math.nan
    if a.var(ddof=1) + b.var(ddof=1) == 0:
        return est, math.nan, math.nan, math.nan
    cm = CompareMeans(DescrStatsW(a), DescrStatsW(b))
    lo, hi = cm.tconfint_diff(alpha=2 * alpha, alternative="two-sided", usevar="unequal")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return est, float(lo), float(hi), float(df)


def _one_sided(a, b, value: float, alternative: str) -> float:
    """P-value of Welch's test of mean(a) − mean(b) against ``value`` ('larger': H1 above it)."""
    a, b = _clean(a), _clean(b)
    if min(len(a), len(b)) < 2:
        return 1.0
    if a.var(ddof=1) + b.var(ddof=1) == 0:
        return 1.0   # no spread, no test: never p = 0 from seeds tied at 100%
    return float(ttest_ind(a, b, alternative=alternative, usevar="unequal", value=value)[1])


def _seeds_to_decide(a, b, alpha: float, decided) -> float:
    """Seeds per group at which, with the observed means and standard deviations, the (1 − 2α)
    Welch interval would decide the unit (``decided(lo, hi)``, elementwise); inf past MAX_SEEDS."""
    a, b = _clean(a), _clean(b)
    if min(len(a), len(b)) < 2:
        return math.inf
    est, sa2, sb2 = a.mean() - b.mean(), a.var(ddof=1), b.var(ddof=1)
    if sa2 + sb2 == 0:
        return math.inf
    n = np.arange(max(len(a), len(b), 2), MAX_SEEDS + 1)
    va, vb = sa2 / n, sb2 / n
    df = (va + vb) ** 2 / ((va ** 2 + vb ** 2) / (n - 1))
    half = stats.t.ppf(1 - alpha, df) * np.sqrt(va + vb)
    hit = np.flatnonzero(decided(est - half, est + half))
    return float(n[hit[0]]) if len(hit) else math.inf


def _to_decide(a, b, alpha: float, alpha_decide: float | None, decided) -> float:
    """nan when the unit is decided at ``alpha_decide`` (default α), else the seeds that would."""
    level = alpha if alpha_decide is None else alpha_decide
    _, lo, hi, _ = welch(a, b, level)
    return math.nan if decided(lo, hi) else _seeds_to_decide(a, b, level, decided)


def noninferiority(a, b, margin: float, alpha: float, alpha_decide: float | None = None) -> Test:
    """Is mean(a) − mean(b) > −margin? For: H0 Δ ≤ −margin; against: H0 Δ ≥ −margin."""
    est, lo, hi, _ = welch(a, b, alpha)
    p_for, p_against = _one_sided(a, b, -margin, "larger"), _one_sided(a, b, -margin, "smaller")
    decided = lambda lo, hi: (lo > -margin) | (hi < -margin)  # noqa: E731
    return Test(est, lo, hi, p_for, p_against, min(len(_clean(a)), len(_clean(b))),
                _to_decide(a, b, alpha, alpha_decide, decided))


def superiority(a, b, margin: float, alpha: float, alpha_decide: float | None = None) -> Test:
    """Is mean(a) − mean(b) > margin? For: H0 Δ ≤ margin; against: H0 Δ ≥ margin."""
    est, lo, hi, _ = welch(a, b, alpha)
    p_for, p_against = _one_sided(a, b, margin, "larger"), _one_sided(a, b, margin, "smaller")
    decided = lambda lo, hi: (lo > margin) | (hi < margin)  # noqa: E731
    return Test(est, lo, hi, p_for, p_against, min(len(_clean(a)), len(_clean(b))),
                _to_decide(a, b, alpha, alpha_decide, decided))


def equivalence(a, b, margin: float, alpha: float, alpha_decide: float | None = None) -> Test:
    """Two one-sided tests: is −margin < mean(a) − mean(b) < margin? For: the larger of the two
    TOST p-values; against: the smaller p-value of Δ beyond one edge."""
    est, lo, hi, _ = welch(a, b, alpha)
    p_for = max(_one_sided(a, b, -margin, "larger"), _one_sided(a, b, margin, "smaller"))
    p_against = min(_one_sided(a, b, margin, "larger"), _one_sided(a, b, -margin, "smaller"))
    decided = lambda lo, hi: ((-margin < lo) & (hi < margin)) | (lo > margin) | (hi < -margin)  # noqa: E731
    return Test(est, lo, hi, p_for, p_against, min(len(_clean(a)), len(_clean(b))),
                _to_decide(a, b, alpha, alpha_decide, decided))


def proportion_above(k: int, n: int, margin: float, alpha: float,
                     alpha_decide: float | None = None) -> Test:
    """Is the share k/n above ``margin``? Clopper–Pearson (1 − 2α) interval; exact binomial tests."""
    lo, hi = proportion_confint(k, n, alpha=2 * alpha, method="beta")
    p_for = stats.binomtest(k, n, margin, alternative="greater").pvalue
    p_against = stats.binomtest(k, n, margin, alternative="less").pvalue
    decided = lambda lo, hi: (lo > margin) | (hi < margin)  # noqa: E731
    level = alpha if alpha_decide is None else alpha_decide
    to_decide = math.nan
    if not decided(*proportion_confint(k, n, alpha=2 * level, method="beta")):
        m = np.arange(n + 1, MAX_SEEDS + 1)
        hit = np.flatnonzero(decided(*proportion_confint(np.round(k / n * m), m, alpha=2 * level,
                                                         method="beta")))
        to_decide = float(m[hit[0]]) if len(hit) else math.inf
    return Test(k / n, float(lo), float(hi), float(p_for), float(p_against), n, to_decide)


def holm(p_values) -> np.ndarray:
    """Holm-adjusted p-values (statsmodels' multipletests)."""
    p = np.asarray(p_values, dtype=float)
    return p if len(p) == 0 else multipletests(p, method="holm")[1]


def decide(p_for: float, p_against: float, alpha: float) -> str:
    """A unit's verdict from its (adjusted) p-values."""
    return HOLDS if p_for < alpha else FAILS if p_against < alpha else INCONCLUSIVE


def combine(verdicts) -> str:
    """A claim's verdict from its units: holds when all hold, does not hold when any does not."""
    verdicts = list(verdicts)
    if any(v == FAILS for v in verdicts):
        return FAILS
    return HOLDS if verdicts and all(v == HOLDS for v in verdicts) else INCONCLUSIVE


# --- calibration of our seeds against one outside run ---------------------------------------------

def outside_test(outside: int, cells: int, seeds: int) -> tuple[float, float]:
    """Cells whose outside run falls beyond our seeds' [min, max]: expected number if that run were
    one more draw from our distribution (probability 2 / (seeds + 1)), and the one-sided binomial
    p-value of seeing at least ``outside``."""
    p = 2 / (seeds + 1)
    return cells * p, float(stats.binomtest(outside, cells, p, alternative="greater").pvalue)


def sign_test(above: int, below: int) -> float:
    """Two-sided sign test (ties already dropped)."""
    return 1.0 if above + below == 0 else float(stats.binomtest(above, above + below, 0.5).pvalue)


def rank_among(value: float, sample) -> float:
    """The value's rank among the sample in [0, 1]: the share below it, ties counting half."""
    s = _clean(sample)
    return float(((s < value).sum() + 0.5 * (s == value).sum()) / len(s))


def hierarchical_bootstrap(reference, groups, alpha: float, resamples: int, seed: int):
    """Mean over cells of (reference − mean of the cell's seeds), and its (1 − α) percentile
    interval from resampling cells, then seeds within each drawn cell, with replacement."""
    ref = np.asarray(reference, dtype=float)
    groups = [_clean(g) for g in groups]
    est = float(np.mean(ref - np.array([g.mean() for g in groups])))
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(groups), size=(resamples, len(groups)))
    # Each cell's resampled seed means, drawn once per resample.
    means = np.stack([g[rng.integers(0, len(g), size=(resamples, len(g)))].mean(axis=1)
                      for g in groups], axis=1)
    boot = (ref[picks] - np.take_along_axis(means, picks, axis=1)).mean(axis=1)
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return est, float(lo), float(hi)

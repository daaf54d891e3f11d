"""hdnn.statistics against reference values computed by hand or in closed form."""

import math

import numpy as np
import pytest
from scipy import stats

from hdnn import statistics as St

A, B = [1, 2, 3, 4, 5], [2, 4, 6, 8, 10]  # means 3 and 6, variances 2.5 and 10


def test_welch_interval_and_df_by_hand():
    est, lo, hi, df = St.welch(A, B, alpha=0.025)
    se = math.sqrt(2.5 / 5 + 10 / 5)
    assert est == -3
    assert df == pytest.approx(6.25 / (0.25 / 4 + 4 / 4))          # 5.882…
    assert (lo, hi) == pytest.approx((-3 - stats.t.ppf(0.975, df) * se, -3 + stats.t.ppf(0.975, df) * se))
    # Welch's two-sided p-value 0.1075 (t = −1.897 at 5.88 df): both one-sided tests at value 0.
    p = St.noninferiority(A, B, margin=0, alpha=0.05)
    assert 2 * min(p.p_for, p.p_against) == pytest.approx(0.10753, abs=1e-5)


def test_noninferiority_decides_by_the_bound():
    t = St.noninferiority(A, B, margin=2, alpha=0.05)
    assert t.ci_low < -2 < t.ci_high and St.decide(t.p_for, t.p_against, 0.05) == St.INCONCLUSIVE
    assert t.seeds_to_decide > 5
    # Shifted up by 5: the 90% interval lies above −2, the p-value below 0.05.
    t = St.noninferiority(np.add(A, 5), B, margin=2, alpha=0.05)
    assert t.ci_low > -2 and St.decide(t.p_for, t.p_against, 0.05) == St.HOLDS
    t = St.noninferiority(np.add(A, -10), B, margin=2, alpha=0.05)
    assert t.ci_high < -2 and St.decide(t.p_for, t.p_against, 0.05) == St.FAILS


def test_equivalence_is_two_one_sided_tests():
    a, b = [10.1, 10.0, 9.9, 10.05, 9.95], [10.0, 10.1, 9.9, 9.95, 10.05]
    t = St.equivalence(a, b, margin=0.3, alpha=0.05)
    # TOST: the larger of the two one-sided p-values (scipy on shifted data, independently).
    p_low = stats.ttest_ind(np.add(a, 0.3), b, equal_var=False, alternative="greater").pvalue
    p_high = stats.ttest_ind(np.add(a, -0.3), b, equal_var=False, alternative="less").pvalue
    assert t.p_for == pytest.approx(max(p_low, p_high))
    assert St.decide(t.p_for, t.p_against, 0.05) == St.HOLDS and -0.3 < t.ci_low and t.ci_high < 0.3


def test_more_noise_never_makes_a_verdict_hold():
    """The same means, sixty times the spread: holds becomes inconclusive, never the reverse."""
    rng = np.random.default_rng(0)
    za, zb = rng.standard_normal(10), rng.standard_normal(10)
    za, zb = (za - za.mean()) / za.std(ddof=1), (zb - zb.mean()) / zb.std(ddof=1)
    verdicts = {}
    for sd in (0.1, 1.0, 6.0):
        a, b = 95 + sd * za, 94 + sd * zb
        ni, eq = St.noninferiority(a, b, 2, 0.05), St.equivalence(a, b, 2, 0.05)
        verdicts[sd] = (St.decide(ni.p_for, ni.p_against, 0.05), St.decide(eq.p_for, eq.p_against, 0.05))
    assert verdicts[0.1] == (St.HOLDS, St.HOLDS)
    assert verdicts[6.0] == (St.INCONCLUSIVE, St.INCONCLUSIVE)
    order = [St.HOLDS, St.INCONCLUSIVE]
    for test in range(2):
        ranks = [order.index(verdicts[sd][test]) for sd in (0.1, 1.0, 6.0)]
        assert ranks == sorted(ranks)


def test_clopper_pearson_textbook_values():
    # 0 of 10: the one-sided 95% upper bound is 1 − 0.05^(1/10).
    t = St.proportion_above(0, 10, 0.5, 0.05)
    assert t.ci_low == 0 and t.ci_high == pytest.approx(1 - 0.05 ** 0.1)
    assert St.decide(t.p_for, t.p_against, 0.05) == St.FAILS and t.p_against == pytest.approx(0.5 ** 10)
    t = St.proportion_above(10, 10, 0.5, 0.05)
    assert t.ci_low == pytest.approx(0.05 ** 0.1) and St.decide(t.p_for, t.p_against, 0.05) == St.HOLDS
    t = St.proportion_above(3, 10, 0.5, 0.05)
    assert St.decide(t.p_for, t.p_against, 0.05) == St.INCONCLUSIVE and t.seeds_to_decide > 10


def test_holm_textbook_example():
    assert St.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_combine():
    assert St.combine([St.HOLDS, St.HOLDS]) == St.HOLDS
    assert St.combine([St.HOLDS, St.INCONCLUSIVE]) == St.INCONCLUSIVE
    assert St.combine([St.INCONCLUSIVE, St.FAILS]) == St.FAILS
    assert St.combine([]) == St.INCONCLUSIVE


def test_calibration_tests_closed_form():
    expected, p = St.outside_test(5, 40, 10)
    assert expected == pytest.approx(40 * 2 / 11)
    q = 2 / 11
    assert p == pytest.approx(sum(math.comb(40, k) * q ** k * (1 - q) ** (40 - k) for k in range(5, 41)))
    assert St.sign_test(39, 0) == pytest.approx(2 * 0.5 ** 39)
    assert St.sign_test(0, 0) == 1.0
    assert St.rank_among(5, [1, 5, 9, 10]) == pytest.approx(1.5 / 4)


def test_hierarchical_bootstrap_covers_and_scales():
    rng = np.random.default_rng(3)
    # Seeds without spread: the cell level alone, half-width 1.96 sd / √cells.
    flat = [np.full(10, m) for m in rng.normal(1.0, 1.0, 400)]
    est, lo, hi = St.hierarchical_bootstrap(np.zeros(400), flat, 0.05, 4000, seed=0)
    assert lo < est < hi and est == pytest.approx(-np.mean([g[0] for g in flat]))
    assert (hi - lo) / 2 == pytest.approx(1.96 * np.std([g[0] for g in flat]) / 20, rel=0.1)
    # Seed noise on top widens it (both levels resampled: conservative), never narrows it.
    noisy = [g + rng.normal(0, 1.0, 10) for g in flat]
    _, lo2, hi2 = St.hierarchical_bootstrap(np.zeros(400), noisy, 0.05, 4000, seed=0)
    assert hi2 - lo2 > hi - lo
    assert St.hierarchical_bootstrap(np.zeros(400), noisy, 0.05, 4000, seed=0)[1:] == (lo2, hi2)


def test_no_spread_gives_no_test_and_no_interval():
    # Two groups tied at 100% (Table 1's easy cells): not evidence in either direction.
    t = St.noninferiority([100.0] * 5, [100.0] * 5, 2.0, 0.05)
    assert (t.p_for, t.p_against) == (1.0, 1.0) and math.isnan(t.ci_low)
    assert St.decide(t.p_for, t.p_against, 0.05) == St.INCONCLUSIVE

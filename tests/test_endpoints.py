"""hdnn.endpoints against statsmodels and scipy, and the properties the verdicts promise: the
interval shown decides, more noise never helps, a missing endpoint never loosens the others."""

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from hdnn import endpoints as E
from hdnn import statistics as St

RNG = np.random.default_rng(0)


def two_cells(a, b):
    return pd.DataFrame({"group": ["g", "g"], "depth": [1, 1], "arch": ["H1", "MS1"], "x": [np.asarray(a), np.asarray(b)]})


@pytest.mark.parametrize("test,margin", [("noninferiority", 0.8), ("superiority", 0.2), ("equivalence", 1.0)])
def test_a_two_cell_contrast_is_welchs_test(test, margin):
    a, b = RNG.normal(90, 1, 12), RNG.normal(89.7, 2, 9)
    c = E.contrast(two_cells(a, b), {"arch": ["H1"]}, {"arch": ["MS1"]})
    ref = {"noninferiority": St.noninferiority, "superiority": St.superiority, "equivalence": St.equivalence}[test](
        a, b, margin, 0.05)
    assert c["estimate"] == pytest.approx(ref.estimate)
    assert E.t_pvalues(c["estimate"], c["se"], c["df"], test, margin) == pytest.approx((ref.p_for, ref.p_against))
    # At α the interval is statsmodels' Welch interval.
    row = pd.Series({**c, "test": test})
    assert E._interval(row, 0.05) == pytest.approx((ref.ci_low, ref.ci_high))


def test_the_mean_contrast_weights_each_side_equally():
    cells = pd.DataFrame({"group": ["g"] * 3, "depth": [1] * 3, "arch": ["H1", "MS1", "MS2"],
                          "x": [np.array([3.0, 5.0]), np.array([1.0, 1.0]), np.array([2.0, 4.0])]})
    c = E.contrast(cells, {"arch": ["H1"]}, {"arch": ["MS1", "MS2"]})
    assert c["estimate"] == pytest.approx(4 - (1 + 3) / 2)
    assert c["se"] == pytest.approx(math.sqrt(2 / 2 + 0.25 * 0 / 2 + 0.25 * 2 / 2))


def test_no_spread_is_no_test():
    assert E.t_pvalues(1.0, 0.0, math.inf, "noninferiority", 0.5) == (1.0, 1.0)


def rows(p_for, estimate=None, status="run"):
    """Contrast endpoints with the given one-sided p-values for the claim (NI at margin 1, se 1)."""
    out = []
    for i, p in enumerate(p_for):
        from scipy import stats
        est = -1 + stats.t.isf(p, 1e6) if estimate is None else estimate[i]
        out.append({"claim": f"c{i}", "test": "noninferiority", "margin": 1.0, "estimate": est, "se": 1.0,
                    "df": 1e6, "status": status if i == 0 else "run", "p_for": p, "p_against": 1 - p})
    return pd.DataFrame(out)


def test_the_verdict_is_read_from_the_interval_at_holms_level():
    p = [0.001, 0.004, 0.02, 0.009, 0.3]
    v = E.holm_verdicts(rows(p), 0.05)
    holds = v["verdict"] == St.HOLDS
    assert holds.tolist() == multipletests(p, alpha=0.05, method="holm")[0].tolist()
    # Each holding endpoint's lower bound clears −margin at its own level, the others' do not.
    assert (v.loc[holds, "ci_low"] > -1).all() and (v.loc[~holds, "ci_low"] <= -1).all()
    assert v["alpha_level"].tolist() == pytest.approx([0.05 / 5, 0.05 / 4, 0.05 / 2, 0.05 / 3, 0.05 / 1])


def test_holm_stopping_is_marked():
    # The second-ranked endpoint (p 0.026 > α/2) fails its step: the third (p 0.03) clears its own
    # level α/1 but Holm has stopped, so it does not hold, and says why.
    v = E.holm_verdicts(rows([0.001, 0.03, 0.026]), 0.05)
    assert v["verdict"].tolist() == [St.HOLDS, St.INCONCLUSIVE, St.INCONCLUSIVE]
    assert v["holm_stopped"].tolist() == [False, True, False]
    v = E.holm_verdicts(rows([0.001, 0.04, 0.02, 0.012]), 0.05)
    assert v.loc[2, "verdict"] == St.HOLDS


def test_more_noise_never_makes_a_claim_easier():
    a, b = RNG.normal(90, 1, 20), RNG.normal(89.8, 1, 20)
    quiet = E.contrast(two_cells(a, b), {"arch": ["H1"]}, {"arch": ["MS1"]})
    noisy = E.contrast(two_cells(90 + 3 * (a - 90), b), {"arch": ["H1"]}, {"arch": ["MS1"]})
    for test in ("noninferiority", "equivalence"):
        assert (E.t_pvalues(noisy["estimate"], noisy["se"], noisy["df"], test, 0.8)[0]
                >= E.t_pvalues(quiet["estimate"], quiet["se"], quiet["df"], test, 0.8)[0])


def test_an_endpoint_not_run_never_loosens_the_others():
    full = E.holm_verdicts(rows([0.001, 0.01, 0.02]), 0.05)
    missing = E.holm_verdicts(rows([1.0, 0.01, 0.02], status=E.NOT_RUN), 0.05)
    assert missing.loc[0, "verdict"] == E.NOT_RUN
    order = {St.HOLDS: 2, St.INCONCLUSIVE: 1, St.FAILS: 0}
    assert all(order[m] <= order[f] for m, f in zip(missing["verdict"][1:], full["verdict"][1:]))


def test_a_share_uses_the_exact_binomial_test():
    r = pd.DataFrame([{"claim": "s", "test": "proportion", "margin": 0.5, "estimate": 1.0, "k": 20, "n": 20,
                       "status": "run", "p_for": 0.5 ** 20, "p_against": 1.0}])
    v = E.holm_verdicts(r, 0.05)
    assert v.loc[0, "verdict"] == St.HOLDS and v.loc[0, "ci_high"] == 1.0
    assert v.loc[0, "ci_low"] == pytest.approx(0.05 ** (1 / 20))   # Clopper–Pearson, k = n


def test_no_runs_analysed_still_writes_every_table(tmp_path):
    # Runs the record check excludes (a copy outside git, as the test suite's smoke) leave nothing
    # to analyse: every table is still written, with its columns, and says "not run yet".
    from hdnn import confirmatory as CF
    protocol = CF.load()
    ep, sens = E.analyse(protocol, {"table1": None, "table2": None, "figure2": None}, [1], "confirmatory")
    assert set(ep["verdict"]) == {E.NOT_RUN}
    units = E.unit_tests(protocol, pd.DataFrame(), "confirmatory")
    units.to_csv(tmp_path / "units.csv", index=False)
    assert pd.read_csv(tmp_path / "units.csv").columns.tolist() == units.columns.tolist()


def test_fewer_seeds_than_the_protocol_plans_give_no_confirmatory_verdict():
    # Two cells with 5 seeds each where the protocol plans 10: an estimate, no test, no verdict,
    # and Holm treats it as not run; the same runs analysed as a pilot are tested.
    from hdnn import confirmatory as CF
    protocol = CF.load()
    runs = pd.DataFrame({"protocol": "tuned", "arch": ["MS1"] * 10 + ["H2"] * 10, "depth": 16,
                         "test_acc": np.r_[RNG.normal(0.99, 0.001, 10), RNG.normal(0.99, 0.001, 10)]})
    runs = pd.concat([runs, runs.assign(depth=0, test_acc=runs["test_acc"] - 0.05)], ignore_index=True)
    half = runs.groupby(["arch", "depth"]).head(5)
    data = {"table1": None, "table2": half, "figure2": None}
    conf = E.analyse(protocol, data, [1], "confirmatory")[0].set_index(["claim", "level"])
    pilot = E.analyse(protocol, data, [1], "exploratory")[0].set_index(["claim", "level"])
    for claim in ("depth_gain", "ms1_eq_h2"):
        assert conf.loc[(claim, "primary"), "verdict"] == E.INCOMPLETE
        assert conf.loc[(claim, "primary"), "p_for"] == 1.0 and math.isnan(conf.loc[(claim, "primary"), "ci_low"])
        assert conf.loc[(claim, "primary"), "estimate"] == pytest.approx(pilot.loc[(claim, "primary"), "estimate"])
    assert pilot.loc[("depth_gain", "primary"), "verdict"] == St.HOLDS
    full = E.analyse(protocol, {**data, "table2": runs}, [1], "confirmatory")[0].set_index(["claim", "level"])
    assert full.loc[("depth_gain", "primary"), "verdict"] == St.HOLDS

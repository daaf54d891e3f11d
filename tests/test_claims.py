"""Each claim's test on small synthetic frames, one frame per verdict; the spec is the committed one."""

import numpy as np
import pandas as pd
import pytest

from hdnn import claims as C
from hdnn.statistics import FAILS, HOLDS, INCONCLUSIVE, NO_TEST

# A paper whose Table 1 has two cells and Table 2 two depths: its rows go through the same units.
PAPER = {"table1": {"swiss_roll": {4: {"MS1": 90.0, "MS2": 90.0, "MS3": 90.0, "H1": 95.0, "H2": 95.0},
                                   8: {"MS1": 90.0, "MS2": 90.0, "MS3": 90.0, "H1": 95.0, "H2": 95.0}},
                    "params_per_layer": {a: "n" for a in ("MS1", "MS2", "MS3", "H1", "H2")}},
         "table2": {"MS1": {0: {"train": 93.0, "test": 92.0}, 4: {"train": 99.0, "test": 98.0}},
                    "H2": {0: {"train": 93.0, "test": 92.0}, 4: {"train": 99.0, "test": 98.0}}}}
SPEC = C.load_spec()
OFFSETS = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])  # five seeds, sd 0.79 points


def table1(acc: dict, spread=1.0, protocol="p"):
    """Runs of cells {(dataset, depth): {arch: mean %}}, seeds at mean + spread × OFFSETS."""
    return pd.DataFrame([{"protocol": protocol, "dataset": d, "depth": n, "arch": a, "seed_index": i,
                          "test_acc": (m + spread * off) / 100}
                         for (d, n), per_arch in acc.items() for a, m in per_arch.items()
                         for i, off in enumerate(OFFSETS)])


def verdict(summary, claim, protocol="p"):
    return summary.set_index(["claim", "protocol"]).loc[(claim, protocol), "verdict"]


def cells(h1, h2, ms=90.0):
    return {("swiss_roll", 4): {"MS1": ms, "MS2": ms, "MS3": ms, "H1": h1, "H2": h2},
            ("swiss_roll", 8): {"MS1": ms, "MS2": ms, "MS3": ms, "H1": 95.0, "H2": 95.0}}


@pytest.mark.parametrize("h1,h2,expected", [(95, 95, HOLDS), (88.2, 95, INCONCLUSIVE), (80, 95, FAILS)])
def test_h_ge_ms_every_pair(h1, h2, expected):
    summary, tests = C.evaluate(table1(cells(h1, h2)), None, None, [1], SPEC, PAPER)
    assert verdict(summary, "h_ge_ms") == expected
    ours = tests[(tests.claim == "h_ge_ms") & (tests.protocol == "p")]
    assert len(ours) == 2 * 2 * 3                  # every H against every MS, no best-of selection
    paper = summary.set_index(["claim", "protocol"]).loc[("h_ge_ms", C.PAPER_ROWS)]
    assert paper["verdict"] == NO_TEST and paper["units_hold"] == 12


def test_noisier_data_never_make_a_claim_hold():
    """The same means with more seed spread: holds, then inconclusive; never the reverse."""
    verdicts = [verdict(C.evaluate(table1(cells(91, 91), spread=s), None, None, [1], SPEC, PAPER)[0], claim)
                for s in (0.5, 8.0) for claim in ("h_ge_ms", "h1_eq_h2")]
    assert verdicts == [HOLDS, HOLDS, INCONCLUSIVE, INCONCLUSIVE]


def test_holm_adjusts_within_a_claim_and_protocol():
    _, tests = C.evaluate(table1(cells(91, 91), spread=2.0), None, None, [1], SPEC, PAPER)
    ours = tests[(tests.claim == "h_ge_ms") & (tests.protocol == "p")]
    assert (ours["p_for_holm"] >= ours["p_for"]).all() and (ours["p_for_holm"] > ours["p_for"]).any()


@pytest.mark.parametrize("h2,expected", [(90.2, HOLDS), (88.2, INCONCLUSIVE), (80.0, FAILS)])
def test_h1_eq_h2(h2, expected):
    runs = table1({("swiss_roll", 4): {"H1": 90.0, "H2": h2}, ("swiss_roll", 8): {"H1": 90.0, "H2": 90.0}},
                  spread=0.5)
    assert verdict(C.evaluate(runs, None, None, [1], SPEC, PAPER)[0], "h1_eq_h2") == expected


def table2(test: dict, protocol="p", spread=0.05):
    """MNIST runs {column: {depth: test %}}, five seeds each."""
    return pd.DataFrame([{"protocol": protocol, "column": a, "arch": a, "depth": d, "seed_index": i,
                          "train_acc": 0.99, "test_acc": (m + spread * off) / 100}
                         for a, per_depth in test.items() for d, m in per_depth.items()
                         for i, off in enumerate(OFFSETS)])


@pytest.mark.parametrize("accs,expected", [
    ({0: 92.0, 4: 97.0, 8: 97.1}, HOLDS),
    ({0: 92.0, 4: 98.0, 8: 97.0}, FAILS),          # a step loses 1 point, beyond the 0.3 margin
    ({0: 92.0, 4: 92.1, 8: 92.2}, FAILS),          # no gain beyond the margin
])
def test_depth_gain(accs, expected):
    summary, tests = C.evaluate(None, table2({"MS1": accs, "H2": accs}), None, [1], SPEC, PAPER)
    assert verdict(summary, "depth_gain") == expected
    units = tests[(tests.claim == "depth_gain") & (tests.protocol == "p")]
    assert set(units["test"]) == {"superiority", "noninferiority"} and len(units) == 2 * 3


def test_mnist_claims_use_the_paper_columns_only():
    """MS1 trained with H2's settings is a diagnostic column: in no claim's units."""
    runs = table2({"MS1": {0: 92.0, 4: 98.0}, "H2": {0: 92.0, 4: 98.0}})
    cross = table2({"MS1": {0: 80.0, 4: 80.0}}).assign(column="MS1_with_H2_settings")
    summary, tests = C.evaluate(None, pd.concat([runs, cross]), None, [1], SPEC, PAPER)
    assert verdict(summary, "ms1_eq_h2") == HOLDS and verdict(summary, "depth_gain") == HOLDS
    assert not tests["unit"].str.contains("with").any()


def test_ms1_eq_h2_inconclusive_at_the_margin():
    runs = table2({"MS1": {0: 92.0, 4: 98.0}, "H2": {0: 92.0, 4: 97.75}}, spread=0.2)
    summary = C.evaluate(None, runs, None, [1], SPEC, PAPER)[0].set_index(["claim", "protocol"])
    row = summary.loc[("ms1_eq_h2", "p")]
    assert row["verdict"] == INCONCLUSIVE and row["seeds_to_decide"] > 5
    assert row["ci_low"] < 0.3 < row["ci_high"]


def grads(rows):
    """gradients_summary rows: (network, seed, kind, layer, min, max, test_acc, extra columns)."""
    base = {"arch": "H1", "depth": 64, "paper_norm_low": float("nan"), "paper_norm_high": float("nan"),
            "paper_vanishing": False, "stall_iteration": 0, "paper_stall_iteration": float("nan"),
            "lemma3_ratio": float("nan"), "test_acc": 1.0}
    return pd.DataFrame([{**base, **r} for r in rows])


def banded(high_by_seed):
    return grads([{"network": "H1", "seed_index": i, "kind": "mean_jacobian", "layer": l, "min": 1.0,
                   "max": high if l == 1 else 2.0, "paper_norm_low": 1, "paper_norm_high": 17}
                  for i, high in enumerate(high_by_seed) for l in (1, 11, 64)])


@pytest.mark.parametrize("highs,expected", [([10] * 10, HOLDS), ([10, 30] * 5, INCONCLUSIVE),
                                            ([30] * 10, FAILS)])
def test_h1_grad_band_share_of_seeds(highs, expected):
    summary, tests = C.evaluate(None, None, banded(highs), [1, 11], SPEC, PAPER)
    assert verdict(summary, "h1_grad_band", "figure2") == expected


def test_band_uses_the_plotted_layers_and_the_batch_mean_norm():
    g = banded([10] * 10)
    g.loc[g.layer == 64, "max"] = 1000.0                          # not a plotted layer
    per_sample = g.assign(kind="per_sample_max", max=500.0)      # not the authors' definition
    assert C.band_seeds(pd.concat([g, per_sample]), [1, 11])["inside"].all()


def fc(stalls, acc=0.5, min_norm=1e-12):
    return grads([{"network": "FC", "arch": "FC", "depth": 32, "seed_index": i, "kind": "mean_jacobian",
                   "layer": 1, "min": min_norm, "max": 1.0, "test_acc": acc, "paper_vanishing": True,
                   "stall_iteration": s, "paper_stall_iteration": 200} for i, s in enumerate(stalls)])


@pytest.mark.parametrize("stalls,kw,expected", [([200] * 10, {}, HOLDS), ([0] * 10, {}, FAILS),
                                                ([200] * 10, {"acc": 0.9}, FAILS),
                                                ([200] * 10, {"min_norm": 0.5}, FAILS),
                                                ([0, 200] * 2, {}, INCONCLUSIVE)])
def test_fc_vanish_includes_the_stall(stalls, kw, expected):
    summary, _ = C.evaluate(None, None, fc(stalls, **kw), [1], SPEC, PAPER)
    assert verdict(summary, "fc_vanish", "figure2") == expected


@pytest.mark.parametrize("ratio,expected", [(1e-12, HOLDS), (1e-2, FAILS)])
def test_lemma3(ratio, expected):
    g = grads([{"network": "H1-TI", "seed_index": i, "kind": "mean_jacobian", "layer": 1, "min": 1,
                "max": 2, "lemma3_ratio": ratio if i else 1e-14} for i in range(2)])
    assert verdict(C.evaluate(None, None, g, [1], SPEC, PAPER)[0], "lemma3", "figure2") == expected


def test_missing_data_give_no_claims():
    summary, tests = C.evaluate(None, None, None, [1], SPEC, PAPER)
    assert summary.empty and tests.empty


def test_robustness_over_searched_settings():
    runs = table1(cells(95, 95)).assign(val_acc=lambda r: r["test_acc"]).drop(columns=["test_acc", "protocol"])
    search = pd.concat([runs.assign(T=0.8, epochs=50), runs.assign(T=3.0, epochs=50, val_acc=0.5)])
    out = C.robustness(search, SPEC).set_index(["claim", "setting"])["verdict"]
    assert out[("h_ge_ms", "T 0.8, epochs 50")] == HOLDS
    # Equal, constant accuracies: no spread, no test (never p = 0 from seeds tied at one value).
    assert out[("h1_eq_h2", "T 3.0, epochs 50")] == INCONCLUSIVE
    assert C.robustness(None, SPEC).empty


def test_one_seed_per_cell_gives_no_interval_and_no_verdict():
    """The smoke grid's single seeds: estimates only, every unit inconclusive."""
    runs = table1(cells(95, 95)).query("seed_index == 0")
    summary, tests = C.evaluate(runs, table2({"MS1": {0: 92.0, 4: 98.0}, "H2": {0: 92.0, 4: 98.0}}).query(
        "seed_index == 0"), None, [1], SPEC, PAPER)
    ours = summary[summary.protocol == "p"]
    assert set(ours["verdict"]) == {INCONCLUSIVE} and ours["ci_low"].isna().all()


def test_the_worst_unit_named_carries_the_claims_verdict():
    # Swiss roll 16 is further from the margin but inconclusive; the failing unit is Swiss roll 8.
    rows = [{"claim": "h1_eq_h2", "protocol": "p", "unit": u, "test": "equivalence", "margin": 2.0, "estimate": e,
             "ci_low": lo, "ci_high": hi, "n": 10, "seeds_to_decide": float("nan"), "verdict": v}
            for u, e, lo, hi, v in (("swiss_roll 16", 9.0, -1.0, 19.0, INCONCLUSIVE),
                                    ("swiss_roll 8", 5.0, 3.0, 7.0, FAILS), ("swiss_roll 4", 0.0, -1.0, 1.0, HOLDS))]
    summary = C._summary(pd.DataFrame(rows), SPEC)
    assert summary.loc[0, "verdict"] == FAILS and summary.loc[0, "worst_unit"] == "swiss_roll 8"

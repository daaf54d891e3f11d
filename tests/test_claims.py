"""Each claim check on small synthetic frames, one frame per verdict."""

import pandas as pd
import pytest

from hdnn import claims as C

# A paper whose Table 1 has one cell and Table 2 one depth pair: the checks run on it too.
PAPER = {"table1": {"swiss_roll": {4: {"MS1": 90.0, "H1": 95.0, "H2": 95.0}},
                    "params_per_layer": {a: "n" for a in ("MS1", "MS2", "MS3", "H1", "H2")}},
         "table2": {"MS1": {0: {"train": 93.0, "test": 92.0}, 4: {"train": 99.0, "test": 98.0}},
                    "H2": {0: {"train": 93.0, "test": 92.0}, 4: {"train": 99.0, "test": 98.0}}}}


def table1(acc: dict, seeds=(0.0, 0.0, 0.0), protocol="p"):
    """Runs of cells {(dataset, depth): {arch: mean %}}, each seed offset by ``seeds`` points."""
    return pd.DataFrame([{"protocol": protocol, "dataset": d, "depth": n, "arch": a, "seed_index": i,
                          "test_acc": (m + off) / 100}
                         for (d, n), per_arch in acc.items() for a, m in per_arch.items()
                         for i, off in enumerate(seeds)])


@pytest.mark.parametrize("diffs,expected", [((2, 0), C.HOLDS), ((2, -1.9), C.HOLDS), ((2, -5), C.PARTLY),
                                           ((-5, -10), C.FAILS)])
def test_h_at_least_ms_verdicts(diffs, expected):
    """H − MS in two cells, in points; seeds agree, so the noise is its floor, 2 points."""
    runs = table1({("swiss_roll", 4): {"MS1": 90, "MS2": 85, "H1": 90 + diffs[0], "H2": 80},
                   ("swiss_roll", 8): {"MS3": 90, "H2": 90 + diffs[1]}})
    claim = C.h_at_least_ms(runs, PAPER)
    assert claim.verdict == expected
    ours = claim.table[claim.table.protocol == "p"].set_index(["data set", "layers"])
    assert ours.loc[("swiss_roll", 4), "best MS"] == "MS1 90.0"         # the best of each family
    assert ours.loc[("swiss_roll", 8), "H − MS"] == pytest.approx(diffs[1])
    assert ours.loc[("swiss_roll", 4), "P(H seed > MS seed)"] == (1.0 if diffs[0] > 0 else 0.0)
    assert (claim.table.protocol == C.PAPER_ROWS).sum() == 1      # the paper's one cell, checked too


def test_noise_grows_with_the_seeds_spread():
    runs = table1({("swiss_roll", 4): {"MS1": 95, "H1": 90}}, seeds=(-10.0, 0.0, 10.0))
    row = C.h_at_least_ms(runs, PAPER).table.iloc[-1]
    assert row["noise"] == pytest.approx(2 * (2 * 100 / 3) ** 0.5, abs=0.01) and row["H ≥ MS − noise"]


def test_seed_wins_counts_every_pair_and_halves_ties():
    assert C._seed_wins(pd.Series([1.0, 0.0]), pd.Series([0.5, 0.0])) == pytest.approx(0.625)


@pytest.mark.parametrize("h2,expected", [(91.0, C.HOLDS), (80.0, C.PARTLY)])
def test_same_parameters_alike(h2, expected):
    runs = table1({("swiss_roll", 4): {"H1": 90, "H2": h2}, ("swiss_roll", 8): {"H1": 90, "H2": 90}})
    claim = C.same_parameters_alike(runs, PAPER)
    assert claim.verdict == expected
    assert C.same_parameters_alike(table1({("swiss_roll", 4): {"H1": 90, "H2": 70},
                                             ("swiss_roll", 8): {"H1": 90, "H2": 70},
                                             ("swiss_roll", 16): {"H1": 90, "H2": 90}}), PAPER).verdict == C.FAILS


def table2(test: dict, protocol="p"):
    """MNIST runs {arch: {depth: test %}}, three seeds each at ±0.05 points."""
    return pd.DataFrame([{"protocol": protocol, "arch": a, "depth": d, "seed_index": i,
                          "train_acc": 0.99, "test_acc": (m + off) / 100}
                         for a, per_depth in test.items() for d, m in per_depth.items()
                         for i, off in enumerate((-0.05, 0.0, 0.05))])


@pytest.mark.parametrize("accs,expected", [
    ({0: 92.0, 4: 97.0, 8: 97.5}, C.HOLDS),
    ({0: 92.0, 4: 98.0, 8: 97.0}, C.PARTLY),    # grows overall, but drops by 1 point at 8
    ({0: 92.0, 4: 91.0, 8: 92.1}, C.FAILS),
])
def test_mnist_depth(accs, expected):
    claim = C.mnist_depth(table2({"MS1": accs, "H2": accs}), PAPER)
    assert claim.verdict == expected
    assert claim.table.set_index(["protocol", "arch"]).loc[(C.PAPER_ROWS, "MS1"), "verdict"] == C.HOLDS


def test_mnist_claims_pending_without_runs():
    assert C.mnist_depth(None, PAPER).verdict == C.PENDING
    assert C.mnist_ms1_h2_alike(pd.DataFrame(), PAPER).verdict == C.PENDING


@pytest.mark.parametrize("h2_at_4,expected", [(97.8, C.HOLDS), (96.0, C.PARTLY)])
def test_mnist_ms1_h2_alike(h2_at_4, expected):
    claim = C.mnist_ms1_h2_alike(table2({"MS1": {0: 92.0, 4: 98.0}, "H2": {0: 92.1, 4: h2_at_4}}), PAPER)
    assert claim.verdict == expected
    assert C.mnist_ms1_h2_alike(table2({"MS1": {0: 92.0, 4: 98.0}, "H2": {0: 90.0, 4: 96.0}}),
                                PAPER).verdict == C.FAILS


def test_mnist_claims_compare_columns_not_trained_archs():
    """MS1 trained with H2's settings is its own column: it is neither MS1 nor H2."""
    runs = table2({"MS1": {0: 92.0, 4: 98.0}, "H2": {0: 92.0, 4: 98.0}}).assign(column=lambda d: d["arch"])
    cross = table2({"MS1": {0: 80.0, 4: 80.0}}).assign(column="MS1_with_H2_settings")
    claim = C.mnist_ms1_h2_alike(pd.concat([runs, cross]), PAPER)
    assert claim.verdict == C.HOLDS
    depth = C.mnist_depth(pd.concat([runs, cross]), PAPER)
    assert "p MS1_with_H2_settings: does not hold" in depth.summary


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


@pytest.mark.parametrize("highs,expected", [((10, 16), C.HOLDS), ((10, 30), C.PARTLY), ((10, 40), C.FAILS)])
def test_h1_gradients_bounded(highs, expected):
    claim = C.h1_gradients_bounded(banded(highs), layers=[1, 11])
    assert claim.verdict == expected and list(claim.table["max"]) == list(highs)


def test_h1_gradients_use_the_plotted_layers_and_the_batch_mean_norm():
    g = banded((10, 10))
    g.loc[g.layer == 64, "max"] = 1000.0                          # not a plotted layer
    per_sample = g.assign(kind="per_sample_max", max=500.0)      # not the authors' definition
    assert C.h1_gradients_bounded(pd.concat([g, per_sample]), layers=[1, 11]).verdict == C.HOLDS
    assert C.h1_gradients_bounded(None, layers=[1]).verdict == C.PENDING
    no_band = g.assign(paper_norm_low=float("nan"), paper_norm_high=float("nan"))   # e.g. 4 layers
    assert C.h1_gradients_bounded(no_band, layers=[1, 11]).verdict == C.PENDING


def fc(min_norm, acc):
    return grads([{"network": "FC", "arch": "FC", "depth": 32, "seed_index": i, "kind": "mean_jacobian",
                   "layer": 1, "min": min_norm, "max": 1.0, "test_acc": acc, "paper_vanishing": True,
                   "paper_stall_iteration": 200} for i in range(2)])


@pytest.mark.parametrize("min_norm,acc,expected", [(1e-12, 0.5, C.HOLDS), (1e-12, 0.9, C.PARTLY),
                                                   (0.5, 0.52, C.PARTLY), (0.5, 0.9, C.FAILS)])
def test_fc_vanishes(min_norm, acc, expected):
    assert C.fc_vanishes(fc(min_norm, acc), layers=[1, 11]).verdict == expected


@pytest.mark.parametrize("ratio,expected", [(1e-12, C.HOLDS), (1e-2, C.FAILS), (float("nan"), C.PENDING)])
def test_lemma3(ratio, expected):
    g = grads([{"network": "H1-TI", "seed_index": i, "kind": "mean_jacobian", "layer": 1, "min": 1,
                "max": 2, "lemma3_ratio": ratio if i else 1e-14} for i in range(2)])
    if ratio != ratio:                                            # NaN everywhere: no eigenvalue data
        g["lemma3_ratio"] = float("nan")
    assert C.lemma3_on_trained_weights(g).verdict == expected


@pytest.mark.parametrize("verdicts,expected", [([C.HOLDS, C.HOLDS], C.HOLDS), ([C.HOLDS, C.FAILS], C.PARTLY),
                                               ([C.FAILS, C.PENDING], C.FAILS), ([C.PENDING], C.PENDING)])
def test_overall(verdicts, expected):
    assert C.overall(verdicts) == expected


def test_by_fraction():
    assert [C.by_fraction(k, 4) for k in (4, 2, 1)] == [C.HOLDS, C.PARTLY, C.FAILS]
    assert C.by_fraction(0, 0) == C.PENDING

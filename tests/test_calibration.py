"""hdnn.calibration on constructed tables: a paper run drawn like our seeds, and one shifted up."""

import numpy as np
import pandas as pd
import pytest

from hdnn import calibration as K

ARCHS = ("MS1", "MS2", "MS3", "H1", "H2")


def paper_and_runs(shift: float, seeds: int = 10, cells: int = 8):
    """A Table 1 of ``cells`` × 5 cells whose paper value is our mean + shift (in points)."""
    rng = np.random.default_rng(0)
    depths = list(range(1, cells + 1))
    paper = {"table1": {"swiss_roll": {}}, "table2": {}}
    rows = []
    for depth in depths:
        for arch in ARCHS:
            acc = 80 + rng.normal(0, 2, seeds)
            paper["table1"]["swiss_roll"].setdefault(depth, {})[arch] = float(rng.normal(80, 2) + shift)
            rows += [{"protocol": "p", "dataset": "swiss_roll", "depth": depth, "arch": arch,
                      "seed_index": i, "test_acc": a / 100} for i, a in enumerate(acc)]
    return paper, pd.DataFrame(rows)


def test_cells_rank_and_outside():
    paper, runs = paper_and_runs(0.0)
    c = K.cells(runs, None, paper)
    assert len(c) == 40 and c["rank"].between(0, 1).all()
    first = c.iloc[0]
    ours = 100 * runs[(runs.depth == 1) & (runs.arch == "MS1")]["test_acc"]
    assert first["rank"] == pytest.approx((ours < first["paper"]).mean())
    assert first["outside"] == (first["paper"] < ours.min() or first["paper"] > ours.max())


def test_a_paper_run_like_ours_shows_no_shift_and_says_no_more():
    paper, runs = paper_and_runs(0.0)
    row = K.summarize(runs, None, paper, resamples=2000).iloc[0]
    assert row["p_outside"] > 0.05 and row["p_sign"] > 0.05
    assert row["shift_ci_low"] < 0 < row["shift_ci_high"]
    assert row["verdict"].startswith("no shift shown") and "not an agreement shown" in row["verdict"]


def test_a_paper_run_above_ours_is_systematic():
    paper, runs = paper_and_runs(6.0)
    row = K.summarize(runs, None, paper, resamples=2000).iloc[0]
    assert row["outside"] > row["expected_outside"] and row["p_sign"] < 1e-3 and row["mean_rank"] > 0.9
    assert row["shift"] == pytest.approx(6.0, abs=1.0)
    assert row["verdict"].startswith("systematically lower than the paper's runs by")


def test_table2_diagnostic_column_apart():
    paper = {"table1": {}, "table2": {"MS1": {0: {"test": 92.0}}, "H2": {0: {"test": 92.0}}}}
    rows = [{"protocol": "p", "column": c, "arch": a, "paper_column": pc, "depth": 0, "seed_index": i,
             "test_acc": 0.92 + 0.001 * i}
            for c, a, pc in (("MS1", "MS1", "MS1"), ("H2", "H2", "H2"), ("MS1_with_H2_settings", "MS1", "H2"))
            for i in range(3)]
    c = K.cells(None, pd.DataFrame(rows), paper)
    assert list(c["table"]) == ["table2", "table2", K.DIAGNOSTIC]
    assert list(c["cell"]) == ["MS1 0", "H2 0", "MS1_with_H2_settings 0"]

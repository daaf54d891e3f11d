"""hdnn.table1: Table 1 with the paper's runs beside, the verdicts, the experiments, the ablation."""

import re

import pandas as pd
import pytest

from hdnn.provenance import write_json
from hdnn.runs import collect_runs, paper_values
from hdnn.block_params import params_row, write_block_params
from hdnn.table1 import (add_paper_table1, distance_to_paper, read_block_params, verdict, write_ablation,
                         write_experiments, write_table1)


PARAMS = {"MS1": 8, "MS2": 10, "MS3": 12, "H1": 20, "H2": 20}   # the paper's formulas at nf = 4


def test_params_row_equals_paper_formulas(tmp_path):
    assert params_row(list(PARAMS)) == PARAMS
    write_block_params(list(PARAMS), tmp_path / "p.csv")
    assert read_block_params(tmp_path / "p.csv") == PARAMS


def fake_runs(tmp_path, setting="paper", acc=lambda d, n, a, s: 0.9, seeds=2):
    paths = []
    for dataset, depths in (("swiss_roll", (4, 8, 16, 32, 64)), ("double_moons", (1, 2, 4))):
        for depth in depths:
            for arch in ("MS1", "MS2", "MS3", "H1", "H2"):
                for s in range(seeds):
                    p = tmp_path / setting / dataset / arch / f"depth{depth}" / f"seed{s}" / "metrics.json"
                    write_json(p, {"study": "table1", "setting": setting, "dataset": dataset,
                                   "arch": arch, "depth": depth, "seed_index": s, "seed": s,
                                   "diverged": False, "train_acc": 1.0, "train_loss": 0.1,
                                   "test_acc": acc(dataset, depth, arch, s), "test_loss": 0.2,
                                   "config": {"T": 0.8, "scheme": "joint", "input_placement": "code"}})
                    paths.append(p)
    return paths


def test_table1_has_every_cell_with_paper_beside(tmp_path):
    paths = fake_runs(tmp_path, acc=lambda d, n, a, s: 0.95 + 0.01 * s)
    out = {k: tmp_path / f"t.{k}" for k in ("csv", "md", "tex")}
    write_table1(collect_runs(paths), out["csv"], out["md"], out["tex"], tmp_path / "cells.csv", PARAMS)
    csv = pd.read_csv(out["csv"])
    assert len(csv) == 80 and csv["paper_test_acc"].between(0, 1).all()
    assert csv.query("dataset == 'swiss_roll' and depth == 4 and arch == 'MS1'")["paper_test_acc"].iloc[0] == pytest.approx(0.771)
    md = out["md"].read_text()
    assert "95.5 ± 0.7 (77.1) †" in md          # far from the paper, outside our range: off
    assert "95.5 ± 0.7 (99.5) †" in md
    assert re.search(r"95\.5 ± 0\.7 \(97\.1\)\s+\|", md)   # 1.6 points: a match, no mark
    assert re.search(r"parameters per layer \| nf = 4\s+\|\s+8\s+\|\s+10\s+\|\s+12\s+\|\s+20\s+\|\s+20", md)
    tex = out["tex"].read_text()
    assert r"\toprule" in tex and r"\bottomrule" in tex and tex.count(r"\\") >= 10


@pytest.mark.parametrize("mean,low,high,paper,expected", [
    (97.0, 96.0, 98.0, 99.0, "match"),        # exactly 2 points: still a match
    (96.9, 96.0, 98.0, 99.0, "off"),          # 2.1 points off and 99 lies beyond our max 98
    (96.9, 94.0, 99.5, 99.0, "consistent"),   # the paper's run inside our seeds' range
    (90.0, 80.0, 99.0, 99.0, "consistent"),   # on the range's edge counts as inside
    (90.0, 80.0, 98.9, 99.0, "off"),
])
def test_verdict(mean, low, high, paper, expected):
    assert verdict(mean, low, high, paper) == expected


def test_per_cell_csv_and_verdict_counts(tmp_path):
    paper = paper_values()["table1"]
    # seed 0 hits the paper, seed 1 lies 10 points under: mean 5 off, paper within the range
    acc = lambda d, n, a, s: paper[d][n][a] / 100 - 0.1 * s - (0.5 if a == "H2" else 0)  # noqa: E731
    paths = fake_runs(tmp_path, acc=acc)
    out = {k: tmp_path / f"t.{k}" for k in ("csv", "md", "tex")}
    write_table1(collect_runs(paths), out["csv"], out["md"], out["tex"], tmp_path / "cells.csv", PARAMS)
    cells = pd.read_csv(tmp_path / "cells.csv")
    assert list(cells.columns) == ["protocol", "dataset", "depth", "arch", "n", "mean", "sd", "min",
                                   "max", "paper", "verdict", "diverged"]
    assert len(cells) == 40 and (cells.n == 2).all()
    assert set(cells[cells.arch == "H2"].verdict) == {"off"}
    assert set(cells[cells.arch != "H2"].verdict) == {"consistent"}
    row = cells.query("dataset == 'swiss_roll' and depth == 4 and arch == 'MS1'").iloc[0]
    assert (row["mean"], row["min"], row["max"], row["paper"]) == pytest.approx((72.1, 67.1, 77.1, 77.1))
    assert "| paper      |       0 |           32 |     8 |      40 |" in out["md"].read_text()


def test_ablation_is_a_diagnostic_that_chooses_nothing(tmp_path):
    paper = paper_values()["table1"]
    near = fake_runs(tmp_path, "near", acc=lambda d, n, a, s: paper[d][n][a] / 100 - 0.01)
    far = fake_runs(tmp_path, "far", acc=lambda d, n, a, s: 0.5)
    df = collect_runs(near + far)
    dist = distance_to_paper(add_paper_table1(df))
    assert dist.iloc[0]["setting"] == "near"
    assert dist.iloc[0]["mean_abs_dev_points"] == pytest.approx(1.0, abs=1e-6)
    write_ablation(df, tmp_path / "abl.md", ["T", "scheme", "input_placement"])
    text = (tmp_path / "abl.md").read_text()
    assert "diagnostic" in text and "feeds no protocol" in text
    assert set(p.name for p in tmp_path.iterdir()) == {"near", "far", "abl.md"}   # no chosen file


def test_experiments_sit_beside_the_protocol_runs_they_change(tmp_path):
    paper = paper_values()["table1"]
    base = fake_runs(tmp_path, "code", acc=lambda d, n, a, s: 0.5)
    exp = fake_runs(tmp_path, "more_epochs", acc=lambda d, n, a, s: paper[d][n][a] / 100)
    runs = {"more_epochs": {"protocol": "code", "settings": {"epochs": 100},
                            "cells": {"swiss_roll": {"MS1": [4]}}, "why": "Too few epochs?"}}
    write_experiments(collect_runs(base), collect_runs(exp), runs, tmp_path / "exp.md")
    md = (tmp_path / "exp.md").read_text()
    assert "## `more_epochs`: protocol `code` with epochs = 100" in md and "Too few epochs?" in md
    row = re.sub(r" +", " ", md.splitlines()[-1])
    assert row == "| swiss_roll | 4 | MS1 | 77.1 | 50.0 ± 0.0 [50.0, 50.0] (off) | 77.1 ± 0.0 [77.1, 77.1] (match) |"

import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from hdnn.provenance import write_json
from hdnn.reporting import (add_paper_table1, distance_to_paper, params_row, verdict, write_ablation,
                            write_experiments, write_table1, write_tuning)
from hdnn.runs import collect_runs, paper_values
from hdnn.reporting import (BEST_EPOCH, collect_table2_runs, paper_column_distance, write_table2,
                            write_tuning_table2)

PAPER_MD = Path(__file__).resolve().parents[1] / "docs" / "paper.md"   # the paper, restated


def reference_table(title):
    lines = PAPER_MD.read_text().split(f"## {title}")[1].split("\n## ")[0].splitlines()
    return [[c.strip() for c in l.strip("|").split("|")] for l in lines if l.startswith("| ")][1:]


def test_paper_values_equal_docs_paper_md():
    t1 = paper_values()["table1"]
    rows = reference_table("Table 1")
    assert len(rows) == 8
    for row in rows:
        dataset = {"Swiss roll": "swiss_roll", "Double moons": "double_moons"}[row[0]]
        ours = t1[dataset][int(row[1])]
        assert [ours[a] for a in ("MS1", "MS2", "MS3", "H1", "H2")] == [float(v) for v in row[2:]]
    t2 = paper_values()["table2"]
    rows = reference_table("Table 2")
    assert len(rows) == 5
    for row in rows:
        d = int(row[0])
        assert [t2["MS1"][d]["train"], t2["MS1"][d]["test"], t2["H2"][d]["train"],
                t2["H2"][d]["test"]] == [float(v) for v in row[1:]]


def test_params_row_equals_paper_formulas():
    assert params_row(["MS1", "MS2", "MS3", "H1", "H2"]) == {
        "MS1": 8, "MS2": 10, "MS3": 12, "H1": 20, "H2": 20}


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
    write_table1(collect_runs(paths), out["csv"], out["md"], out["tex"], tmp_path / "cells.csv")
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
    write_table1(collect_runs(paths), out["csv"], out["md"], out["tex"], tmp_path / "cells.csv")
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


def tuning_rows(val):
    """Search runs of 50 epochs, also scored after 10 (and 100 when the grid goes there)."""
    rows = []
    for (T, scheme), (v, test) in val.items():
        for depth in (4, 8):
            rows.append({"dataset": "swiss_roll", "arch": "H1", "depth": depth, "setting": f"{T}{scheme}",
                         "seed_index": 0, "cfg_T": T, "cfg_scheme": scheme, "val_acc": v,
                         "epoch10_val_acc": v - 0.3, "epoch50_val_acc": v - 0.1, "test_acc": test})
    return pd.DataFrame(rows)


def test_tuning_picks_best_validation_never_test(tmp_path):
    df = tuning_rows({(0.8, "joint"): (0.7, 0.99), (2.0, "alternating"): (0.9, 0.5),
                      (3.0, "joint"): (0.8, 0.6)})
    chosen = tmp_path / "tuned.yaml"
    grid = {"T": [0.8, 2.0, 3.0], "scheme": ["alternating", "joint"]}
    write_tuning(df, tmp_path / "tuning.md", chosen, grid, [10, 50])
    text = chosen.read_text()
    assert "T: 2.0" in text and "epochs: 50" in text and "scheme: alternating" in text
    md = (tmp_path / "tuning.md").read_text()
    # 50 epochs is the largest searched: flagged; T = 2.0 is inside its grid; scheme is no number
    assert "swiss_roll H1: epochs = 50 (grid 10–50)" in md and "T = 2" not in md


def test_tuning_flags_a_choice_on_the_edge_of_a_numeric_grid(tmp_path):
    df = tuning_rows({(0.8, "joint"): (0.95, 0.5), (2.0, "joint"): (0.9, 0.99)})
    write_tuning(df, tmp_path / "tuning.md", tmp_path / "tuned.yaml", {"T": [0.8, 2.0]}, [10, 50])
    assert "swiss_roll H1: T = 0.8 (grid 0.8–2)" in (tmp_path / "tuning.md").read_text()


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


# --- Table 2 (MNIST) --------------------------------------------------------------------------


def fake_mnist_runs(tmp_path, setting="paper", seeds=3, study="table2", curve=None,
                    columns=(("MS1", "MS1"), ("H2", "H2"))):
    """Run records as hdnn.mnist_train.run_mnist writes them; ``curve(column, depth, seed, epoch)``
    gives one epoch's metrics; ``columns``: (column, arch trained)."""
    curve = curve or (lambda a, d, s, e: {"train_acc": 0.99 - 0.01 * s, "test_acc": 0.98 - 0.01 * e})
    paths = []
    for column, arch in columns:
        for depth in (0, 2, 4, 8, 16):
            for s in range(seeds):
                evals = {str(e): curve(column, depth, s, e) for e in (1, 2, 3)}
                p = tmp_path / study / setting / column / f"depth{depth}" / f"seed{s}" / "metrics.json"
                extra = {} if column == arch else {"column": column, "paper_column": "H2"}
                write_json(p, {"study": study, "setting": setting, "dataset": "mnist", "arch": arch,
                               **extra, "depth": depth, "seed_index": s, "seed": s, "diverged": False,
                               "device": "cpu", "wall_time_s": 30.0,
                               **evals["3"], "evals": evals,
                               "config": {"h": 0.4 if column == "MS1" else 0.05, "lr": 0.04,
                                          "lr_gamma": 0.8, "epochs": 3, "weight_decay": 1e-3,
                                          "alpha": 1e-3, "subset": None, "test_subset": None,
                                          "n_val": 10000}})
                paths.append(p)
    return paths


def test_table2_has_every_cell_with_paper_beside(tmp_path):
    # H2's runs first: the columns still follow the paper (MS1, then H2).
    paths = sorted(fake_mnist_runs(tmp_path) + fake_mnist_runs(tmp_path, "tuned"),
                   key=lambda p: "MS1" in str(p))
    out = {k: tmp_path / f"t.{k}" for k in ("csv", "md", "tex")}
    write_table2(collect_table2_runs(paths), out["csv"], out["md"], out["tex"])
    paper = paper_values()["table2"]

    csv = pd.read_csv(out["csv"])
    assert len(csv) == 2 * 2 * 5 * 3  # protocols × archs × depths × seeds: one row per run
    for r in csv.itertuples():
        assert r.paper_train_acc == pytest.approx(paper[r.arch][r.depth]["train"] / 100)
        assert r.paper_test_acc == pytest.approx(paper[r.arch][r.depth]["test"] / 100)
    # The result is the final epoch; the best epoch (chosen on test) only a labelled extra.
    assert csv["test_acc"].tolist() == pytest.approx([0.95] * len(csv))
    assert csv[BEST_EPOCH].tolist() == pytest.approx([0.97] * len(csv))

    md = out["md"].read_text()
    assert "## Protocol `paper`" in md and "## Protocol `tuned`" in md
    for section in md.split("## Protocol")[1:]:
        rows = {int(l.split("|")[1]): [c.strip() for c in l.strip().strip("|").split("|")[1:]]
                for l in section.splitlines() if re.match(r"\|\s+\d+\s+\|", l)}
        assert sorted(rows) == [0, 2, 4, 8, 16]
        assert re.search(r"layers\s*\|\s*MS1 train\s*\|\s*MS1 test\s*\|\s*H2 train\s*\|\s*H2 test", section)
        for depth, cells in rows.items():
            want = [paper[a][depth][s] for a in ("MS1", "H2") for s in ("train", "test")]
            assert [float(c.split("(")[1].split(")")[0]) for c in cells] == want
            assert cells[0].startswith("98.000 ± 1.000 (") and cells[1].startswith("95.00 ± 0.00 (")
        assert "runs: 30 on cpu; training time 15 min" in section
    tex = out["tex"].read_text()
    assert tex.count(r"\toprule") == 2 and tex.count(r"\bottomrule") == 2
    assert "99.815" in tex and r"$\pm$" in tex


def test_table2_marks_cells_beyond_0_3_points(tmp_path):
    paper = paper_values()["table2"]

    def curve(arch, depth, seed, epoch):  # MS1 at 4 layers: 0.2 points off; the rest: 0.5 points
        off = 0.002 if (arch, depth) == ("MS1", 4) else -0.005
        return {s + "_acc": paper[arch][depth][s] / 100 + off for s in ("train", "test")}

    out = {k: tmp_path / f"t.{k}" for k in ("csv", "md", "tex")}
    write_table2(collect_table2_runs(fake_mnist_runs(tmp_path, curve=curve)), out["csv"], out["md"],
                 out["tex"])
    md = out["md"].read_text()
    rows = {int(l.split("|")[1]): l for l in md.splitlines() if re.match(r"\|\s+\d+\s+\|", l)}
    assert rows[4].split("|")[2].count("†") == 0 and rows[4].split("|")[3].count("†") == 0
    assert rows[4].split("|")[4].count("†") == 1 and rows[16].count("†") == 4
    assert "(9/10 cells beyond 0.3), test" in md and "(9/10 beyond)" in md


def test_table2_cross_column_is_compared_with_the_paper_column_whose_settings_it_takes(tmp_path):
    """MS1 trained with H2's settings sits beside H2 and is judged against the paper's H2."""
    paper = paper_values()["table2"]

    def curve(column, depth, seed, epoch):  # the cross column hits the paper's H2; H2 is 1 point low
        ref = paper["MS1" if column == "MS1" else "H2"][depth]
        off = -0.01 if column == "H2" else 0.0
        return {f"{s}_acc": ref[s] / 100 + off for s in ("train", "test")}

    columns = (("MS1", "MS1"), ("H2", "H2"), ("MS1_with_H2_settings", "MS1"))
    out = {k: tmp_path / f"t.{k}" for k in ("csv", "md", "tex")}
    df = collect_table2_runs(fake_mnist_runs(tmp_path, curve=curve, columns=columns))
    write_table2(df, out["csv"], out["md"], out["tex"])
    csv = pd.read_csv(out["csv"])
    cross = csv[csv["column"] == "MS1_with_H2_settings"]
    assert set(cross["arch"]) == {"MS1"} and set(cross["paper_column"]) == {"H2"}
    assert cross["paper_test_acc"].tolist() == pytest.approx(
        [paper["H2"][d]["test"] / 100 for d in cross["depth"]])
    md = out["md"].read_text()
    assert re.search(r"H2 test\s*\|\s*MS1_with_H2_settings train\s*\|\s*MS1_with_H2_settings test", md)
    assert "MS1_with_H2_settings (MS1): h 0.05" in md
    assert "Closer to the paper's H2 column: **MS1_with_H2_settings**, by 1.00 points" in md
    dist = paper_column_distance(df)
    assert set(dist["column"]) == {"H2", "MS1_with_H2_settings"}  # MS1 has its own paper column
    assert dist.set_index("column")["test_dev"].to_dict() == pytest.approx(
        {"H2": 1.0, "MS1_with_H2_settings": 0.0})


def test_tuning_table2_flags_choices_on_the_edge(tmp_path):
    curve = lambda a, d, s, e: {"val_acc": 0.5 + 0.1 * e, "test_acc": 0.5}  # still rising at the end
    paths = fake_mnist_runs(tmp_path, "lr0.01", seeds=1, study="table2_tuning", curve=curve)
    write_tuning_table2(collect_runs(paths), tmp_path / "tuning.md", tmp_path / "tuned.yaml",
                        grid={"lr": [0.04, 0.01], "lr_gamma": [0.8]})
    md = (tmp_path / "tuning.md").read_text()
    assert "mnist H2: epochs = 3 (grid 1–3)" in md and "lr = 0.04 (grid" in md
    assert "lr_gamma" not in md.split("On the edge")[1].split("\n")[0]  # one value: no edge


def test_tuning_table2_chooses_on_validation_never_test(tmp_path):
    def curve(lr):  # lr 0.01 peaks at epoch 2 on validation; lr 0.04 is best on "test" only
        return lambda a, d, s, e: {"val_acc": {0.01: [0.8, 0.9, 0.85], 0.04: [0.7, 0.7, 0.7]}[lr][e - 1],
                                   "test_acc": 0.99 if lr == 0.04 else 0.5}

    paths = []
    for lr in (0.01, 0.04):
        paths += fake_mnist_runs(tmp_path, f"lr{lr}", seeds=1, study="table2_tuning", curve=curve(lr))
    for p in paths:  # the settings a tuning run records
        rec = json.loads(p.read_text())
        rec["config"]["lr"] = float(rec["setting"][2:])
        write_json(p, rec)
    chosen = tmp_path / "tuned.yaml"
    write_tuning_table2(collect_runs(paths), tmp_path / "tuning.md", chosen)
    per_arch = yaml.safe_load(chosen.read_text())["per_cell"]
    assert per_arch == {a: {"lr": 0.01, "lr_gamma": 0.8, "epochs": 2} for a in ("MS1", "H2")}
    assert "never the test set" in (tmp_path / "tuning.md").read_text()

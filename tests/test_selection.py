"""hdnn.selection: the searches choose on validation accuracy, never the test set, and flag
choices on the edge of their grid."""

import json

import pandas as pd
import yaml

from conftest import fake_mnist_runs
from hdnn.provenance import write_json
from hdnn.runs import collect_runs
from hdnn.selection import write_tuning, write_tuning_table2


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

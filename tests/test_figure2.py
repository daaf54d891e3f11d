"""Figure 2's settings, stall detection, summary table and the Lemma 3 check on trained weights."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from hdnn import settings as S
from hdnn.data import make_dataset, save_dataset
from hdnn.figure_data import eigenvalue_table
from hdnn.provenance import NORMS_FILE, write_json
from hdnn.figure2 import (figure2_paper, gradients_summary, lemma3_ratio, stall_iteration,
                          write_gradients_summary)
from hdnn.runs import paper_values
from hdnn.train import run_cell

ROOT = Path(__file__).resolve().parents[1]
PAPER_MD = ROOT / "docs" / "paper.md"   # the paper, restated


def test_stall_iteration_of_synthetic_loss_curves():
    rng = np.random.default_rng(0)
    it = np.arange(960)
    noise = 0.002 * rng.standard_normal(960)
    # Falls until iteration 200, then flat at log 2 (an FC net that stopped learning).
    stalls = np.where(it < 200, 0.693 + 0.5 * (1 - it / 200), 0.693) + noise
    found = stall_iteration(stalls, window=32, threshold=0.01)
    assert 170 <= found <= 200
    # Still learning at the end: no stall; slowing down counts once the loss moves by less than
    # the threshold over the rest of training (at least two windows).
    assert stall_iteration(1 - it / 1200 + noise, window=32, threshold=0.01) is None
    assert 800 <= stall_iteration(np.exp(-it / 300) + noise, window=32, threshold=0.01) <= 900
    # Flat from the start; and diverged (NaN) losses never count as stalled.
    assert stall_iteration(np.full(100, 0.5), window=10, threshold=1e-3) == 0
    assert stall_iteration(np.full(100, np.nan), window=10, threshold=1e-3) is None
    # A window longer than the curve, or a zero threshold, is an error.
    for window, threshold in ((101, 0.01), (0, 0.01), (10, 0.0)):
        with pytest.raises(ValueError, match="not allowed"):
            stall_iteration(np.ones(100), window, threshold)


def test_figure2_settings_and_tracking_follow_the_config(config):
    cfg = config
    assert cfg["figure2"]["protocol"] == "code"                   # the authors' procedure
    assert cfg["table1"]["protocols"]["code"] == {}               # code: table1.base as it is
    h1ti = S.figure2_settings(cfg, "H1-TI")
    assert h1ti == {**cfg["table1"]["base"], "epochs": 30, "time_invariant": True}
    assert S.figure2_settings(cfg, "H1")["time_invariant"] is False
    cfg["figure2"]["protocol"] = "paper"                          # a fixed Table 1 protocol
    h1 = S.figure2_settings(cfg, "H1")
    paper = cfg["table1"]["protocols"]["paper"]
    assert {k: h1[k] for k in paper} == paper and h1["epochs"] == 30 and h1["scheme"] == "joint"
    track = S.figure2_tracking(cfg, "FC")                         # 32 layers: ℓ <= 32 only
    assert track == {"mean_jacobian": None, "per_sample_median": [1, 11, 21, 31],
                     "per_sample_max": [1, 11, 21, 31]}
    assert S.figure2_tracking(cfg, "H1")["per_sample_max"] == [1, 11, 21, 31, 41, 51, 61]
    with pytest.raises(ValueError, match="H3"):
        S.figure2_network(cfg, "H3")
    cfg["figure2"]["layers"] = [40]
    with pytest.raises(ValueError, match="depth 32"):
        S.figure2_tracking(cfg, "FC")


def test_figure2_paper_values_equal_docs_paper_md():
    text = " ".join(PAPER_MD.read_text().split("- Figure 2:")[1].split("\n## ")[0].split())
    assert re.findall(r"\[(\d+), (\d+)\]", text) == [("1", "17"), ("1", "37")]
    assert figure2_paper("H1", 64, False) == {"arch": "H1", "depth": 64, "time_invariant": False,
                                              "norm_low": 1, "norm_high": 17}
    assert figure2_paper("H1", 64, True)["norm_high"] == 37
    fc = figure2_paper("FC", 32, False)
    assert "about 200 iterations" in text and fc["stall_iteration"] == 200
    assert "test accuracy 50%" in text and fc["test_acc"] == 50 and fc["vanishing"]
    assert figure2_paper("H1", 4, False) == {}                     # the paper has no such network
    assert len(paper_values()["figure2"]) == 3


def fake_run(root, network, arch, depth, ti, seed_index, norms, losses, acc=0.9):
    folder = root / network / f"seed{seed_index}"
    folder.mkdir(parents=True)
    pd.DataFrame(norms, columns=["iteration", "layer", "kind", "value"]).to_csv(folder / NORMS_FILE, index=False)
    path = folder / "metrics.json"
    write_json(path, {"study": "figure2", "setting": network, "dataset": "double_moons",
                      "arch": arch, "depth": depth, "seed_index": seed_index, "seed": 7,
                      "diverged": False, "train_acc": acc, "test_acc": acc, "iteration_loss": losses,
                      "config": {"time_invariant": ti, "T": 0.8}})
    return path


def test_gradients_summary_from_run_files(tmp_path):
    flat = [0.69] * 40
    falling = list(np.linspace(0.7, 0.1, 40))
    paths = [
        fake_run(tmp_path, "H1", "H1", 64, False, 0,
                 [(i, l, "mean_jacobian", v) for i in range(40) for l, v in ((1, 2.0 + i / 10), (11, 1.5))]
                 + [(i, 1, "per_sample_max", 30.0) for i in range(40)], falling, acc=0.99),
        fake_run(tmp_path, "H1-TI", "H1", 64, True, 0,
                 [(i, 1, "mean_jacobian", 40.0 - i / 10) for i in range(40)], falling),
        fake_run(tmp_path, "FC", "FC", 32, False, 0,
                 [(i, l, "mean_jacobian", 10.0 ** -i) for i in range(40) for l in (0, 1)], flat, acc=0.5),
    ]
    eig = tmp_path / "eig.csv"
    pd.DataFrame({"network": "H1-TI", "seed_index": 0, "point": [0, 0], "re": [1e-16, -1e-16],
                  "im": [2.0, -2.0]}).to_csv(eig, index=False)
    df = gradients_summary(paths, str(eig), window=8, threshold=0.01)
    h1 = df[(df.network == "H1") & (df.kind == "mean_jacobian") & (df.layer == 1)].iloc[0]
    assert (h1["min"], h1["max"]) == (2.0, pytest.approx(5.9))
    assert (h1["paper_norm_low"], h1["paper_norm_high"]) == (1, 17)
    assert pd.isna(h1["stall_iteration"])                   # still falling at the end
    fc = df[df.network == "FC"]
    assert set(fc["layer"]) == {0, 1} and fc["min"].min() == pytest.approx(1e-39)
    assert (fc["stall_iteration"] == 0).all() and (fc["paper_stall_iteration"] == 200).all()
    assert fc["paper_test_acc"].iloc[0] == pytest.approx(0.5)
    ti = df[df.network == "H1-TI"].iloc[0]
    assert ti["lemma3_ratio"] == pytest.approx(5e-17) and ti["max"] == 40.0
    assert df[df.network != "H1-TI"]["lemma3_ratio"].isna().all()

    csv, md = tmp_path / "s.csv", tmp_path / "s.md"
    write_gradients_summary(df, str(csv), str(md), layers=[1, 11], window=8, threshold=0.01)
    assert len(pd.read_csv(csv)) == len(df)
    rows = {line.split("|")[1].strip(): line for line in md.read_text().splitlines()
            if line.startswith("| H1") or line.startswith("| FC")}
    assert "[1, 17]" in rows["H1"] and "| yes" in rows["H1"] and "99.0" in rows["H1"]
    assert "no: above (40)" in rows["H1-TI"] and "5.0e-17" in rows["H1-TI"]
    assert "→ 0" in rows["FC"] and "| 0 (≈ 200)" in rows["FC"] and "50.0 (50)" in rows["FC"]


def test_lemma3_on_trained_weights(tmp_path):
    data = make_dataset("double_moons", n_points=200)
    data_path = tmp_path / "moons.pt"
    save_dataset(data, data_path)
    runs = {}
    for name, ti in (("TI", True), ("TV", False)):
        paths = [str(tmp_path / name / f"seed{i}" / "metrics.json") for i in range(2)]
        run_cell(data_path, paths, "figure2", name, "double_moons", "H1", 4,
                 {"epochs": 1, "scheme": "joint", "time_invariant": ti}, base_seed=0, progress=False)
        runs[name] = paths
    eig = eigenvalue_table(runs["TI"], str(data_path))
    assert len(eig) == 2 * 100 * 4 and set(eig["seed_index"]) == {0, 1}
    assert (eig["network"] == "TI").all()
    assert lemma3_ratio(eig) < 1e-12 and np.hypot(eig["re"], eig["im"]).max() > 0.1
    with pytest.raises(ValueError, match="time-varying H1 is not allowed"):
        eigenvalue_table(runs["TV"], str(data_path))

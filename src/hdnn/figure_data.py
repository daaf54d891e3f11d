"""The data each figure draws, computed from the runs: Figure 1's decision regions (a trained
model on a grid), Figure 2's norms at the plotted layers, Lemma 3's eigenvalues on trained
weights. Written as compact CSVs under paper/data/ (``write_csv``), from which hdnn.plotting
draws without torch."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from hdnn.blocks import make_block
from hdnn.data import PLOT_DOMAINS, pad_inputs, run_dataset
from hdnn.figure2 import figure2_paper
from hdnn.provenance import NORMS_FILE
from hdnn.runs import METRICS, MODEL, read_record


def write_csv(df: pd.DataFrame, path: str | Path, digits: int | None = 7) -> None:
    """CSV, gzipped when the name ends in .gz, with ``digits`` significant digits (7: what a
    figure can show; None: every digit, for data a reported number is computed from) and no time
    stamp in the gzip header: the same data give the same bytes."""
    text = df.to_csv(index=False, float_format=digits and f"%.{digits}g", lineterminator="\n").encode()
    if str(path).endswith(".gz"):
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
            gz.write(text)
    else:
        Path(path).write_bytes(text)


def load_model(path: str):
    """A trained 2-D classifier from a run's model.pt: (block, W, µ, config, data seed), the data
    seed None where the run used the shared data file."""
    state = torch.load(path, weights_only=True)
    cfg = state["config"]
    block = make_block(state["arch"], cfg["nf"], state["depth"], cfg["T"] / state["depth"],
                       cfg["time_invariant"])
    block.load_state_dict(state["block"], strict=False)
    return block, state["W"], state["mu"], cfg, state.get("data_seed")


def decision_grid(model_path: str, data_path: str, dataset: str, n: int) -> pd.DataFrame:
    """Predicted probability of class 1 on an n × n grid over the paper's plot domain, plus the
    labelled test points (kind = grid / test), with the run's protocol, seed, commit and machine."""
    block, W, mu, cfg, data_seed = load_model(model_path)
    rec = read_record(Path(model_path).with_name(METRICS))
    (x0, x1), (y0, y1) = PLOT_DOMAINS[dataset]
    gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    pts = torch.tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
    data = run_dataset(data_path, dataset, data_seed)  # the run's own test points
    with torch.no_grad():
        prob = torch.sigmoid(block(pad_inputs(pts, cfg["nf"], cfg["input_placement"])) @ W + mu)
        test_pred = block(pad_inputs(data["x_test"], cfg["nf"], cfg["input_placement"])) @ W + mu
    grid = pd.DataFrame({"kind": "grid", "x": pts[:, 0], "y": pts[:, 1], "value": prob.numpy()})
    test = pd.DataFrame({"kind": "test", "x": data["x_test"][:, 0], "y": data["x_test"][:, 1],
                         "value": data["y_test"].numpy().astype(float),
                         "correct": ((test_pred > 0).long() == data["y_test"]).numpy()})
    return pd.concat([grid, test], ignore_index=True).assign(
        dataset=dataset, depth=block.depth, T=cfg["T"], arch=block.arch, protocol=rec["setting"],
        seed_index=rec["seed_index"], commit=rec["git_commit"], platform=rec["versions"]["platform"])


def figure2_data(metrics_paths, layers) -> pd.DataFrame:
    """The norms of the layers ℓ in ``layers`` of one run per network (tidy rows), with the
    network's description, test accuracy and the paper's band (NaN where it has none)."""
    frames = []
    for path in metrics_paths:
        rec = read_record(path)
        ti = rec["config"]["time_invariant"]
        norms = pd.read_csv(Path(path).with_name(NORMS_FILE))
        ref = figure2_paper(rec["arch"], rec["depth"], ti)
        frames.append(norms[norms["layer"].isin(layers)].assign(
            network=rec["setting"], arch=rec["arch"], depth=rec["depth"], time_invariant=ti,
            seed_index=rec["seed_index"], test_acc=rec["test_acc"],
            paper_norm_low=ref.get("norm_low", np.nan), paper_norm_high=ref.get("norm_high", np.nan)))
    return pd.concat(frames, ignore_index=True)


def eigenvalue_table(metrics_paths, data_path: str) -> pd.DataFrame:
    """Lemma 3 on trained weights: the eigenvalues of Kᵀ D(y) K Jᵀ (the time-invariant vector
    field's Jacobian) at every test point, in float64, for each run of one network."""
    frames = []
    for path in metrics_paths:
        block, _, _, cfg, data_seed = load_model(str(Path(path).with_name(MODEL)))
        rec = read_record(path)
        data = run_dataset(data_path, rec["dataset"], data_seed)
        if block.arch not in ("H1", "H2") or not block.time_invariant:
            raise ValueError(f"{path}: a {'time-invariant' if block.time_invariant else 'time-varying'} "
                             f"{block.arch} is not allowed: Lemma 3 is about time-invariant H1/H2")
        y = pad_inputs(data["x_test"], cfg["nf"], cfg["input_placement"]).double()
        with torch.no_grad():
            lam = np.linalg.eigvals(block.double().vector_field_jacobian(y).numpy())   # (points, nf)
        frames.append(pd.DataFrame({"network": rec["setting"], "seed_index": rec["seed_index"],
                                    "point": np.repeat(np.arange(len(y)), lam.shape[1]),
                                    "re": lam.real.ravel(), "im": lam.imag.ravel()}))
    return pd.concat(frames, ignore_index=True)

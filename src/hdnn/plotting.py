"""Figures. Compute (decision-region grids) is kept apart from drawing so that restyling a
figure only rereads a CSV and never retrains a network."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
import torch  # noqa: E402

from hdnn.blocks import make_block  # noqa: E402
from hdnn.data import PLOT_DOMAINS, load_dataset, pad_inputs  # noqa: E402

TITLES = {"swiss_roll": "Swiss roll", "double_moons": "Double moons"}


def plot_dataset(data: dict, name: str, path: str) -> None:
    sns.set_theme(style="white")
    fig, ax = plt.subplots(figsize=(4, 4))
    x, y = data["x_train"].numpy(), data["y_train"].numpy()
    sns.scatterplot(x=x[:, 0], y=x[:, 1], hue=y, s=4, palette="coolwarm", linewidth=0, ax=ax)
    ax.set(title=f"{TITLES[name]}: training set ({len(y)} points)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def load_model(path: str):
    """A trained 2-D classifier from a run's model.pt: (block, W, µ, config)."""
    state = torch.load(path, weights_only=True)
    cfg = state["config"]
    block = make_block(state["arch"], cfg["nf"], state["depth"], cfg["T"] / state["depth"],
                       cfg["time_invariant"])
    block.load_state_dict(state["block"], strict=False)
    return block, state["W"], state["mu"], cfg


def decision_grid(model_path: str, data_path: str, dataset: str, n: int) -> pd.DataFrame:
    """Predicted probability of class 1 on an n × n grid over the paper's plot domain, plus the
    labelled test points (kind = grid / test)."""
    block, W, mu, cfg = load_model(model_path)
    (x0, x1), (y0, y1) = PLOT_DOMAINS[dataset]
    gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    pts = torch.tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=torch.float32)
    data = load_dataset(data_path)
    with torch.no_grad():
        prob = torch.sigmoid(block(pad_inputs(pts, cfg["nf"], cfg["input_placement"])) @ W + mu)
        test_pred = block(pad_inputs(data["x_test"], cfg["nf"], cfg["input_placement"])) @ W + mu
    grid = pd.DataFrame({"kind": "grid", "x": pts[:, 0], "y": pts[:, 1], "value": prob.numpy()})
    test = pd.DataFrame({"kind": "test", "x": data["x_test"][:, 0], "y": data["x_test"][:, 1],
                         "value": data["y_test"].numpy().astype(float),
                         "correct": ((test_pred > 0).long() == data["y_test"]).numpy()})
    return pd.concat([grid, test], ignore_index=True).assign(dataset=dataset, depth=block.depth,
                                                             T=cfg["T"], arch=block.arch)


def plot_figure1(csv_paths, png: str, pdf: str) -> None:
    """Figure 1: decision regions with the labelled test points, one panel per data set."""
    sns.set_theme(style="white")
    frames = [pd.read_csv(p) for p in csv_paths]
    fig, axes = plt.subplots(1, len(frames), figsize=(5.5 * len(frames), 4.5))
    for ax, df in zip(np.atleast_1d(axes), frames):
        grid, test = df[df.kind == "grid"], df[df.kind == "test"]
        n = int(round(np.sqrt(len(grid))))
        ax.contourf(grid.x.to_numpy().reshape(n, n), grid.y.to_numpy().reshape(n, n),
                    grid.value.to_numpy().reshape(n, n), levels=[0, 0.5, 1],
                    colors=["#9ecae1", "#fdae6b"], alpha=0.6)
        sns.scatterplot(data=test, x="x", y="y", hue="value", palette=["#08519c", "#d94801"],
                        s=5, linewidth=0, legend=False, ax=ax)
        row = df.iloc[0]
        acc = test.correct.mean() * 100
        ax.set(title=f"{TITLES[row.dataset]}: {row.arch}, T = {row['T']:.2f}, {int(row.depth)} "
                     f"layers (test acc. {acc:.1f}%)", xlabel="", ylabel="")
    fig.tight_layout()
    fig.savefig(png, dpi=150)
    fig.savefig(pdf)
    plt.close(fig)

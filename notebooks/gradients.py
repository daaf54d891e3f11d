# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Figure 2, explored: gradient norms during training
# Reads what the workflow wrote for Figure 2: each run's `runs/figure2/{network}/seed{i}/`
# (`norms.csv.gz`: ‖∂y_N/∂y_ℓ‖₂ at every iteration, per kind of norm and layer ℓ; `metrics.json`),
# `tables/gradients_summary.csv` and the report's `data/eigenvalues.csv.gz`. Shows the per-layer norms of the
# paper's three networks (H1, H1-TI, FC) over the iterations, every seed, against the paper's bands
# (`config/paper_values.yaml`: [1, 17] for H1 and [1, 37] for H1-TI at 64 layers; FC's norms vanish),
# then Lemma 3 on the trained H1-TI. Open as a notebook with `jupytext --to notebook
# notebooks/gradients.py`, or run it as a script. Nothing here trains: run
# `snakemake --cores all gradients` first (`HDNN_RESULTS` points elsewhere).

# %%
import json
from glob import glob
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import yaml

from hdnn.runs import PAPER_VALUES, figure2_run, report_dir, require, results_dir

RESULTS = results_dir()
NETWORKS = ["H1", "H1-TI", "FC"]  # the paper's Figure 2


def read_run(metrics) -> pd.DataFrame:
    rec = json.loads(metrics.read_text())
    return pd.read_csv(metrics.with_name("norms.csv.gz")).assign(
        network=rec["setting"], arch=rec["arch"], depth=rec["depth"], seed=rec["seed_index"],
        time_invariant=rec["config"]["time_invariant"], test_acc=rec["test_acc"])


runs = [Path(p) for net in NETWORKS for p in sorted(glob(figure2_run(RESULTS, net, "*")))]
norms = pd.concat([read_run(p) for p in require(runs, "Figure 2 runs", "gradients")], ignore_index=True)
# The figure's layers ℓ: those every kind of norm tracks (the batch-mean Jacobian tracks all).
layers = sorted(set.intersection(*(set(g.layer) for _, g in norms.groupby("kind"))))
paper = pd.DataFrame(yaml.safe_load(PAPER_VALUES.read_text())["figure2"])
paper["vanishing"] = paper.vanishing.eq(True)
paper["network"] = paper.arch + np.where(paper.time_invariant, "-TI", "")
paper = paper.set_index("network")
norms.groupby(["network", "depth", "seed"]).agg(iterations=("iteration", "nunique"),
                                                 test_acc=("test_acc", "first"))

# %% [markdown]
# The batch-mean Jacobian's norm (the authors' definition) of each layer ℓ over the iterations,
# seed 0; the paper's band shaded (drawn for the paper's depth; the smoke runs are shallower).

# %%
sns.set_theme(style="whitegrid")
mean = norms[(norms.kind == "mean_jacobian") & norms.layer.isin(layers)]
grid = sns.relplot(data=mean[mean.seed == 0], x="iteration", y="value", hue="layer", col="network",
                   col_order=NETWORKS, kind="line", palette="viridis", linewidth=0.8, legend="full",
                   facet_kws={"sharey": False}, height=3.2)
for network, ax in grid.axes_dict.items():
    ref, depth = paper.loc[network], int(mean[mean.network == network].depth.iloc[0])
    if not np.isnan(ref.norm_low):
        ax.axhspan(ref.norm_low, ref.norm_high, color="0.5", alpha=0.15,
                   label=f"paper [{ref.norm_low:g}, {ref.norm_high:g}]")
        ax.legend(loc="upper right", fontsize=8)
    if ref.vanishing:
        ax.set_yscale("log")
    ax.set_title(f"{network}: {depth} layers (paper: {ref.depth})")
grid.set_axis_labels("iteration", r"$\|\partial y_N/\partial y_\ell\|_2$")
plt.show()

# %% [markdown]
# Every seed: the largest (solid) and smallest (dashed) norm over the layers ℓ at each iteration,
# then over all of training beside the paper's band.

# %%
envelope = mean.groupby(["network", "seed", "iteration"]).value.agg(["min", "max"]).reset_index()
fig, axes = plt.subplots(1, len(NETWORKS), figsize=(4 * len(NETWORKS), 3.2))
for ax, network in zip(axes, NETWORKS):
    for (seed, g), color in zip(envelope[envelope.network == network].groupby("seed"), sns.color_palette()):
        ax.plot(g.iteration, g["max"], color=color, linewidth=0.7, label=f"seed {seed}")
        ax.plot(g.iteration, g["min"], color=color, linewidth=0.7, linestyle="--")
    ref = paper.loc[network]
    if not np.isnan(ref.norm_low):
        for bound in (ref.norm_low, ref.norm_high):
            ax.axhline(bound, color="k", linestyle=":", linewidth=1)
    ax.set(title=network, xlabel="iteration", yscale="log" if ref.vanishing else "linear")
    ax.legend(fontsize=8)
axes[0].set_ylabel("min – max over ℓ")
fig.tight_layout()
plt.show()

band = mean.groupby(["network", "seed"]).value.agg(["min", "max"])
band = band.join(paper[["norm_low", "norm_high"]], on="network")
band["within"] = np.where(band.norm_high.isna(), "—",
                          np.where((band["min"] >= band.norm_low) & (band["max"] <= band.norm_high),
                                   "yes", "no"))
band.round(3)

# %% [markdown]
# The workflow's summary of the same runs (`tables/gradients_summary.csv`): test accuracy and the
# iteration after which training stalled, the paper's beside (FC: 50% and about 200 iterations).

# %%
summary = pd.read_csv(RESULTS / "tables" / "gradients_summary.csv")
summary = summary[summary.network.isin(NETWORKS)]
summary.groupby(["network", "seed_index"], sort=False)[
    ["test_acc", "paper_test_acc", "train_loss", "stall_iteration", "paper_stall_iteration"]].first()

# %% [markdown]
# Lemma 3: in a time-invariant H1/H2 block the Jacobian of the vector field, Kᵀ D(y) K Jᵀ, has purely
# imaginary eigenvalues. The report's `data/eigenvalues.csv.gz` holds them at every test point for each seed
# of the trained eigenvalue network; max |Re λ| / max |λ| should be rounding error (float64).

# %%
eig_path = report_dir() / "data" / "eigenvalues.csv.gz"
if eig_path.exists():
    eigs = pd.read_csv(eig_path)
    ratio = eigs.groupby(["network", "seed_index"]).apply(
        lambda g: g.re.abs().max() / np.hypot(g.re, g.im).max(), include_groups=False)
    print(ratio.rename("max |Re λ| / max |λ|").to_string())
    assert (ratio < 1e-8).all(), "Lemma 3 fails on the trained weights"
    one = eigs[eigs.seed_index == eigs.seed_index.min()]
    ax = sns.scatterplot(data=one, x="re", y="im", s=6, linewidth=0, alpha=0.5)
    scale = np.hypot(one.re, one.im).max()
    ax.set(xlim=(-1.1 * scale, 1.1 * scale), aspect="equal", xlabel="Re λ", ylabel="Im λ",
           title=f"{one.network.iloc[0]}, seed {one.seed_index.iloc[0]}")
    plt.show()
else:
    print(f"{eig_path} is missing: run `snakemake --cores all gradients`")

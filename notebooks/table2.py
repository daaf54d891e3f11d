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
# # Table 2 (MNIST), explored
# Reads what the workflow wrote: `results/tables/table2.csv` (one row per run, final epoch) and
# every run's `metrics.json` (the per-epoch curve). Shows accuracy against depth beside the paper,
# and accuracy against epoch: the evidence behind the number of epochs, and how much the paper
# protocol's lr 0.04 jumps between epochs. Open as a notebook with
# `jupytext --to notebook notebooks/table2.py`, or run it as a script. Nothing here trains: run
# `snakemake --cores all results/tables/table2.md` first (`HDNN_RESULTS` points elsewhere).

# %%
import json

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from hdnn.runs import require, results_dir

RESULTS = results_dir()
runs = pd.read_csv(*require(RESULTS / "tables" / "table2.csv", "Table 2", "results/tables/table2.md"))
runs.groupby(["protocol", "arch", "depth"])[["train_acc", "test_acc"]].agg(["mean", "std"]).mul(100).round(2)

# %%
sns.set_theme(style="whitegrid")
grid = sns.relplot(data=runs, x="depth", y="test_acc", hue="arch", style="protocol", kind="line",
                   marker="o", errorbar="sd")
paper = runs.groupby(["depth", "arch"]).paper_test_acc.first().unstack()
ax = grid.ax
for arch in paper:
    ax.plot(paper.index, paper[arch], linestyle=":", marker="x", color="gray", alpha=0.7)
grid.set_axis_labels("layers", "test accuracy (ours: lines; paper: grey dotted, x)")
plt.show()

# %% [markdown]
# Accuracy after every epoch, one line per depth (mean over seeds): does the final epoch sit on a
# plateau?

# %%
curves = []
for path in sorted((RESULTS / "runs" / "table2").glob("*/*/depth*/seed*/metrics.json")):
    rec = json.loads(path.read_text())
    for epoch, ev in rec["evals"].items():
        curves.append({"protocol": rec["setting"], "arch": rec["arch"], "depth": rec["depth"],
                       "seed": rec["seed_index"], "epoch": int(epoch), "test_acc": ev["test_acc"],
                       "train_acc": ev["train_acc"]})
curves = pd.DataFrame(curves)
sns.relplot(data=curves, x="epoch", y="test_acc", hue="depth", col="arch", row="protocol",
            kind="line", errorbar=None, palette="viridis", height=3)
plt.show()

# %% [markdown]
# Gain of the last epoch over the one before, in points (mean over seeds): small means converged
# for that schedule.

# %%
last = curves.epoch.max()
gain = (curves[curves.epoch == last].groupby(["protocol", "arch", "depth"]).test_acc.mean()
        - curves[curves.epoch == last - 1].groupby(["protocol", "arch", "depth"]).test_acc.mean())
(100 * gain).unstack("depth").round(2)

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
# # Table 1, explored
# Reads what the workflow wrote (`results/tables/table1.csv`, one row per run) and shows
# test accuracy against depth per architecture, ours (mean and every seed) beside the paper's.
# Open as a notebook with `jupytext --to notebook notebooks/table1.py`, or run it as a script.
# Nothing here trains: run `snakemake --cores all` first (`HDNN_RESULTS` points elsewhere).

# %%

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from hdnn.runs import require, results_dir

RESULTS = results_dir()
runs = pd.read_csv(*require(RESULTS / "tables" / "table1.csv", "Table 1", "results/tables/table1.csv"))
runs.groupby(["protocol", "dataset", "arch"]).test_acc.describe().round(3)

# %%
sns.set_theme(style="whitegrid")
grid = sns.relplot(data=runs, x="depth", y="test_acc", hue="arch", style="protocol", col="dataset",
                   kind="line", marker="o", errorbar="sd", facet_kws={"sharex": False})
for ax, (dataset, paper) in zip(grid.axes.flat, runs.groupby("dataset", sort=False)):
    cells = paper.groupby(["depth", "arch"]).paper_test_acc.first().unstack()
    ax.set_prop_cycle(None)
    for arch in cells:
        ax.plot(cells.index, cells[arch], linestyle=":", marker="x", alpha=0.7)
    ax.set_xscale("log", base=2)
grid.set_axis_labels("layers", "test accuracy (ours: lines; paper: dotted, x)")
plt.show()

# %% [markdown]
# Deviations from the paper by cell (points), for each protocol:

# %%
cell = runs.groupby(["protocol", "dataset", "depth", "arch"]).agg(
    ours=("test_acc", "mean"), paper=("paper_test_acc", "first"))
(100 * (cell.ours - cell.paper)).unstack("arch").round(1)

# %% [markdown]
# Verdict per cell (`table1_cells.csv`): match (|ours − paper| ≤ `match_points.table1` of
# config/claims.yaml, 2 points), consistent (the paper's single run within our seeds' [min, max]) or off. Counts per protocol, then the cells
# that are off with our range beside the paper's value:

# %%
cells = pd.read_csv(RESULTS / "tables" / "table1_cells.csv")
counts = cells.groupby("protocol", sort=False).verdict.value_counts().unstack(fill_value=0)
print(counts)
cells[cells.verdict == "off"].round(1)

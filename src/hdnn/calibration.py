"""Our seeds against the paper's single run per cell: is the paper's run one more draw from our
distribution?

If it were, its rank among our n seeds would be uniform, it would fall outside our [min, max] with
probability 2 / (n + 1), and it would lie above our median as often as below. ``cells`` gives, per
table, protocol and cell, the paper's value, our seeds' summary and the paper's rank;
``summarize`` tests the three facts per table and protocol (hdnn.statistics) and estimates the
shift, paper − ours, with a bootstrap over cells and seeds. Accuracies in points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hdnn import statistics as St
from hdnn.claims import paper_columns
from hdnn.runs import paper_values

DIAGNOSTIC = "table2 (MS1 with H2's settings)"  # against the paper's H2 column; apart from Table 2


def _groups(table1_runs: pd.DataFrame | None, table2_runs: pd.DataFrame | None, paper: dict | None):
    """(table, protocol, cell label, the paper's value, our seeds' test accuracies) per cell."""
    pv = paper or paper_values()
    if table1_runs is not None:
        for (protocol, dataset, depth, arch), g in table1_runs.groupby(
                ["protocol", "dataset", "depth", "arch"], sort=False):
            yield ("table1", protocol, f"{dataset} {int(depth)} {arch}",
                   float(pv["table1"][dataset][int(depth)][arch]), 100 * g["test_acc"].to_numpy(float))
    if table2_runs is not None:
        ours = paper_columns(table2_runs)
        diag = table2_runs.loc[table2_runs.index.difference(ours.index)]
        for table, frame in (("table2", ours), (DIAGNOSTIC, diag)):
            for (protocol, column, paper_column, depth), g in frame.groupby(
                    ["protocol", "column", "paper_column", "depth"], sort=False):
                yield (table, protocol, f"{column} {int(depth)}",
                       float(pv["table2"][paper_column][int(depth)]["test"]), 100 * g["test_acc"].to_numpy(float))


def cells(table1_runs, table2_runs, paper: dict | None = None) -> pd.DataFrame:
    """One row per cell: seeds, the paper's value, our mean, median, min, max, the paper's rank
    among our seeds (0–1, ties half), outside our [min, max], above or below our median."""
    rows = []
    for table, protocol, cell, ref, acc in _groups(table1_runs, table2_runs, paper):
        med = float(np.median(acc))
        rows.append({"table": table, "protocol": protocol, "cell": cell, "seeds": len(acc), "paper": ref,
                     "mean": acc.mean(), "median": med, "min": acc.min(), "max": acc.max(),
                     "rank": St.rank_among(ref, acc), "outside": bool(ref < acc.min() or ref > acc.max()),
                     "above_median": bool(ref > med), "below_median": bool(ref < med)})
    return pd.DataFrame(rows)


def verdict_sentence(row, alpha: float) -> str:
    """One sentence per table and protocol, from its tests."""
    ci = f"{row['shift']:+.2f} points, 95% CI {row['shift_ci_low']:+.2f} to {row['shift_ci_high']:+.2f}"
    if row["p_outside"] >= alpha and row["p_sign"] >= alpha and row["shift_ci_low"] <= 0 <= row["shift_ci_high"]:
        reach = max(abs(row["shift_ci_low"]), abs(row["shift_ci_high"]))
        return (f"no shift shown (paper − ours {ci}; outside count p = {row['p_outside']:.2g}, sign test "
                f"p = {row['p_sign']:.2g}): within ±{reach:.2f} points of the paper's runs at most, an "
                f"absence of evidence, not an agreement shown (per block the shifts may cancel)")
    if row["shift_ci_low"] > 0:
        return (f"systematically lower than the paper's runs by {row['shift']:.2f} points "
                f"(95% CI {row['shift_ci_low']:.2f} to {row['shift_ci_high']:.2f})")
    if row["shift_ci_high"] < 0:
        return (f"systematically higher than the paper's runs by {-row['shift']:.2f} points "
                f"(95% CI {-row['shift_ci_high']:.2f} to {-row['shift_ci_low']:.2f})")
    return (f"not calibrated to the paper's runs, with no consistent direction: the paper's run "
            f"outside our seeds' range in {row['outside']} of {row['cells']} cells (expected "
            f"{row['expected_outside']:.1f}, p = {row['p_outside']:.2g}), sign test p = "
            f"{row['p_sign']:.2g} (paper − ours {ci})")


def summarize(table1_runs, table2_runs, paper: dict | None = None, alpha: float = 0.05,
              resamples: int = 10000, seed: int = 0) -> pd.DataFrame:
    """calibration.csv: one row per (table, protocol)."""
    groups = list(_groups(table1_runs, table2_runs, paper))
    per_cell = cells(table1_runs, table2_runs, paper)
    rows = []
    for (table, protocol), c in per_cell.groupby(["table", "protocol"], sort=False):
        seeds = int(c["seeds"].min())
        expected, p_out = St.outside_test(int(c["outside"].sum()), len(c), seeds)
        acc = [g[4] for g in groups if g[0] == table and g[1] == protocol]
        shift, lo, hi = St.hierarchical_bootstrap(c["paper"].to_numpy(), acc, alpha, resamples, seed)
        above, below = int(c["above_median"].sum()), int(c["below_median"].sum())
        rows.append({"table": table, "protocol": protocol, "cells": len(c), "seeds": seeds,
                     "outside": int(c["outside"].sum()), "expected_outside": expected, "p_outside": p_out,
                     "above_median": above, "below_median": below, "p_sign": St.sign_test(above, below),
                     "mean_rank": c["rank"].mean(), "shift": shift, "shift_ci_low": lo, "shift_ci_high": hi})
    out = pd.DataFrame(rows)
    if not out.empty:
        out["verdict"] = [verdict_sentence(r, alpha) for _, r in out.iterrows()]
    return out

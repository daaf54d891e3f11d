"""Control arms for the Table 1 experiments.

Each experiment (config/experiments_table1.yaml) reran the cells where its protocol was `off` the
paper with one setting changed. Cells chosen for being off drift back towards the paper on a rerun
whatever is changed (regression to the mean), so each experiment has a control arm: the same
change on as many cells that were *not* off, chosen by a rule fixed before they ran:

  per protocol, the cells whose verdict in table1_cells.csv is not `off`, in one random order
  drawn by numpy's default_rng(CONTROL_SEED); an experiment with k off cells takes the first k
  (all of them when the protocol has fewer).

Its runs are experiments of their own (``<name>_control``, ``control_of: <name>``), so their seeds
are fresh. ``effects`` compares the change's effect on the two arms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

CONTROL_SEED = 0
CELL = ["dataset", "depth", "arch"]


def control_cells(cells: pd.DataFrame, protocol: str, k: int, seed: int = CONTROL_SEED) -> dict:
    """The first ``k`` of the protocol's cells that are not off, in the rule's random order, as
    the config writes cells: dataset → arch → sorted depths."""
    pool = cells[(cells["protocol"] == protocol) & (cells["verdict"] != "off")]
    pool = pool.sort_values(CELL).reset_index(drop=True)   # the order the draw permutes
    order = np.random.default_rng(seed).permutation(len(pool))[:k]
    out: dict = {}
    for _, r in pool.iloc[order].iterrows():
        out.setdefault(r["dataset"], {}).setdefault(r["arch"], []).append(int(r["depth"]))
    return {d: {a: sorted(ds) for a, ds in per_arch.items()} for d, per_arch in out.items()}


def n_cells(cells_cfg: dict) -> int:
    return sum(len(depths) for per_arch in cells_cfg.values() for depths in per_arch.values())


def _cell_effects(protocol_runs: pd.DataFrame, runs: pd.DataFrame) -> np.ndarray:
    """Per cell of ``runs``: its mean test accuracy minus the protocol's in that cell (points)."""
    ours = runs.groupby(CELL)["test_acc"].mean()
    base = protocol_runs.groupby(CELL)["test_acc"].mean()
    return 100 * (ours - base.reindex(ours.index)).dropna().to_numpy()


def _mean_ci(x: np.ndarray, alpha: float) -> tuple[float, float]:
    if len(x) < 2 or np.ptp(x) == 0:
        return (float(np.mean(x)),) * 2 if len(x) else (np.nan, np.nan)
    res = stats.bootstrap((x,), np.mean, confidence_level=1 - alpha, method="percentile",
                          n_resamples=10000, random_state=np.random.default_rng(CONTROL_SEED))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _difference_ci(a: np.ndarray, b: np.ndarray, alpha: float) -> tuple[float, float]:
    if len(a) < 2 or len(b) < 2:
        return np.nan, np.nan
    res = stats.bootstrap((a, b), lambda x, y, axis=-1: x.mean(axis=axis) - y.mean(axis=axis),
                          confidence_level=1 - alpha, method="percentile", n_resamples=10000,
                          random_state=np.random.default_rng(CONTROL_SEED))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def effects(table1_runs: pd.DataFrame, experiment_runs: pd.DataFrame, runs_cfg: dict,
            alpha: float = 0.05) -> pd.DataFrame:
    """Per experiment that has a control: the change's mean effect (experiment − protocol, per
    cell, averaged over cells) on its off cells and on its control cells, each with a 95%
    bootstrap interval over cells, and the difference off − control with its interval."""
    rows = []
    for name, run in runs_cfg.items():
        controls = [c for c, r in runs_cfg.items() if r.get("control_of") == name]
        if not controls:
            continue
        base = table1_runs[table1_runs["protocol"] == run["protocol"]]
        off = _cell_effects(base, experiment_runs[experiment_runs["experiment"] == name])
        ctrl = _cell_effects(base, experiment_runs[experiment_runs["experiment"] == controls[0]])
        if len(off) == 0 or len(ctrl) == 0:
            continue
        diff_lo, diff_hi = _difference_ci(off, ctrl, alpha)
        rows.append({"experiment": name, "protocol": run["protocol"],
                     "change": ", ".join(f"{k} = {v}" for k, v in run["settings"].items()),
                     "off_cells": len(off), "off_effect": off.mean(),
                     **dict(zip(("off_ci_low", "off_ci_high"), _mean_ci(off, alpha))),
                     "control_cells": len(ctrl), "control_effect": ctrl.mean(),
                     **dict(zip(("control_ci_low", "control_ci_high"), _mean_ci(ctrl, alpha))),
                     "difference": off.mean() - ctrl.mean(), "difference_ci_low": diff_lo,
                     "difference_ci_high": diff_hi})
    return pd.DataFrame(rows, columns=["experiment", "protocol", "change", "off_cells", "off_effect",
                                       "off_ci_low", "off_ci_high", "control_cells", "control_effect",
                                       "control_ci_low", "control_ci_high", "difference",
                                       "difference_ci_low", "difference_ci_high"])

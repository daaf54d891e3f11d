"""The claims' endpoints as config/confirmatory.yaml fixes them, on any set of runs.

A contrast endpoint is L = Σ w_c μ_c over independent cells (hdnn.power.weights: mean of the plus
cells − mean of the minus cells), estimated by Σ w_c x̄_c with variance Σ w_c² s_c² / n_c, Welch–
Satterthwaite degrees of freedom and the t distribution (scipy.stats.t). A share endpoint counts
seeds (claims.band_seeds, claims.fc_seeds): exact binomial test, Clopper–Pearson interval
(statistics.proportion_above); an intersection–union endpoint over networks takes the larger
``p_for`` (it holds when every network does).

Multiplicity: Holm over the protocol's family (statsmodels). Each endpoint's interval is drawn at
the level Holm tests it at, α / (K − rank + 1), its rank by ``p_for``: the interval clears the
margin exactly when the endpoint's own Holm step rejects, so a verdict is read from the interval
shown (`holds` also needs every endpoint ranked before it to hold; ``holm_stopped`` marks the rest).
`does not hold`: the interval at that level lies wholly on the other side. An endpoint with no
runs yet counts as not rejected (p = 1): Holm is monotone, so the others' verdicts can only be
stricter than with its runs, never laxer. No spread at all gives no test (p = 1 both ways).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from hdnn import claims as C
from hdnn import statistics as St
from hdnn.power import weights

NOT_RUN = "not run yet"
INCOMPLETE = "incomplete"   # fewer seeds than the protocol plans: no verdict (no interim look)
CHANCE = {"table1": 0.5, "table2": 0.1}   # a run whose evaluation is not finite counts as chance
MULTIPLIERS = (0.5, 1.0, 2.0)             # the sensitivity table's margins, × the protocol's
ENDPOINT_COLUMNS = ["claim", "level", "table", "protocol", "test", "margin", "margin_scale", "status", "estimate",
                    "se", "df", "cells", "n", "k", "network", "p_for", "p_against"]


def cells(runs: pd.DataFrame, table: str) -> pd.DataFrame:
    """Per cell (group, depth, arch): the seeds' test accuracies in points, ``x``. Table 2's cells
    are its paper columns (claims.paper_columns)."""
    runs = C.paper_columns(runs) if table == "table2" else runs
    group = runs["dataset"] if table == "table1" else pd.Series("mnist", index=runs.index)
    acc = 100 * pd.to_numeric(runs["test_acc"], errors="coerce").fillna(CHANCE[table])
    df = pd.DataFrame({"group": group, "depth": runs["depth"].astype(int), "arch": runs["arch"], "x": acc})
    return df.groupby(["group", "depth", "arch"], sort=True)["x"].apply(np.asarray).reset_index()


def contrast(cell_frame: pd.DataFrame, plus: dict, minus: dict) -> dict:
    """L̂, its standard error, Welch–Satterthwaite df, the cells and the fewest seeds in one."""
    w = weights(cell_frame, plus, minus)
    used = cell_frame[w != 0].assign(w=w[w != 0])
    n = used["x"].map(len).to_numpy(dtype=float)
    v = used["w"].to_numpy() ** 2 * used["x"].map(lambda x: np.var(x, ddof=1)).to_numpy() / n
    est = float((used["w"] * used["x"].map(np.mean)).sum())
    se = float(math.sqrt(v.sum()))
    df = float(v.sum() ** 2 / (v ** 2 / (n - 1)).sum()) if se > 0 else math.inf
    return {"estimate": est, "se": se, "df": df, "cells": len(used), "n": int(n.min())}


def t_pvalues(est: float, se: float, df: float, test: str, margin: float) -> tuple[float, float]:
    """(p_for, p_against) of L against its margin: non-inferiority L > −m, superiority L > m,
    equivalence |L| < m (TOST: the larger p; against: the smaller p of L beyond an edge)."""
    if not se > 0:
        return 1.0, 1.0
    up = lambda value: float(stats.t.sf((est - value) / se, df))      # noqa: E731  H1: L > value
    down = lambda value: float(stats.t.cdf((est - value) / se, df))   # noqa: E731  H1: L < value
    if test == "equivalence":
        return max(up(-margin), down(margin)), min(up(margin), down(-margin))
    edge = -margin if test == "noninferiority" else margin
    return up(edge), down(edge)


def _claim_side(test: str, margin: float, lo: float, hi: float) -> tuple[bool, bool]:
    """Does the interval clear the margin for the claim, or lie wholly against it?"""
    if test == "equivalence":
        return -margin < lo and hi < margin, lo > margin or hi < -margin
    edge = -margin if test == "noninferiority" else margin
    return lo > edge, hi < edge


# --- the endpoints of one protocol -------------------------------------------------------------------

def _share(per_seed: pd.DataFrame, ok: str, margin: float) -> list[dict]:
    rows = []
    for network, g in per_seed.groupby("network", sort=False):
        k, n = int(g[ok].sum()), len(g)
        t = St.proportion_above(k, n, margin, 0.05)
        rows.append({"network": network, "k": k, "n": n, "p_for": t.p_for, "p_against": t.p_against})
    return rows


def endpoint_rows(protocol_cfg: dict, level: str, runs: dict, layers, margin_scale: float = 1.0,
                  planned: dict | None = None) -> pd.DataFrame:
    """One row per claim of the family under the ``level`` protocol (``primary``/``secondary``).
    ``runs``: ``table1``, ``table2`` (run frames with a ``protocol`` column) and ``figure2`` (a
    gradients summary, hdnn.figure2.gradients_summary, networks by name); None where there are no
    runs yet. ``layers``: Figure 2's plotted ℓ (config figure2.layers). ``planned``: seeds per
    table (the protocol's n_seeds); an endpoint with fewer in a cell or network is ``incomplete``."""
    pp = protocol_cfg["primary_protocol"]
    rows = []
    for claim in protocol_cfg["multiplicity"]["family"]:
        spec = protocol_cfg["claims"][claim]["primary"]
        table, test = spec["table"], spec["test"]
        margin = spec["margin"] * margin_scale
        protocol = (pp if level == "primary" else pp["secondary"]).get(table, protocol_cfg["figure2"]["protocol"])
        row = {"claim": claim, "level": level, "table": table, "protocol": protocol, "test": test,
               "margin": margin, "margin_scale": margin_scale}
        data = runs.get(table)
        if table == "figure2" and level == "secondary":
            continue  # Figure 2 has one protocol
        if table != "figure2":
            sel = None if data is None else data[data["protocol"] == protocol]
            if sel is None or sel.empty:
                rows.append({**row, "status": NOT_RUN, "p_for": 1.0, "p_against": 1.0})
                continue
            c = contrast(cells(sel, table), spec["plus"], spec["minus"])
            p_for, p_against = t_pvalues(c["estimate"], c["se"], c["df"], test, margin)
            status = "run"
            if planned and c["n"] < planned[table]:   # no test: last in Holm's order, as if not run
                status, p_for, p_against = INCOMPLETE, 1.0, 1.0
            rows.append({**row, **c, "status": status, "p_for": p_for, "p_against": p_against})
            continue
        if data is None or data.empty:
            rows.append({**row, "status": NOT_RUN, "p_for": 1.0, "p_against": 1.0})
            continue
        nets = spec["networks"]
        if claim == "h1_grad_band":
            per_seed, ok = C.band_seeds(data, layers), "inside"
        else:
            c = protocol_cfg["claims"]
            per_seed = C.fc_seeds(data, layers, {"vanished": c["fc_vanishing"]["vanished"],
                                                 "chance_points": c["fc_chance"]["chance_points"],
                                                 "stall_factor": c["fc_stall"]["stall_factor"]})
            ok = {"fc_vanishing": "vanished", "fc_stall": "stall_near_paper", "fc_chance": "near_chance"}[claim]
        shares = _share(per_seed[per_seed["network"].isin(nets)], ok, margin)
        if not shares:   # no seed of a network the paper describes (e.g. the smoke grid's depths)
            rows.append({**row, "status": NOT_RUN, "p_for": 1.0, "p_against": 1.0})
            continue
        binding = max(shares, key=lambda s: s["p_for"])   # intersection–union: the weakest network
        short = planned and min(s["n"] for s in shares) < planned[table]   # no test, as above
        rows.append({**row, "status": INCOMPLETE if short else "run", "estimate": binding["k"] / binding["n"], "k": binding["k"],
                     "n": binding["n"], "cells": len(shares), "network": binding["network"],
                     "p_for": 1.0 if short else binding["p_for"],
                     "p_against": 1.0 if short else min(s["p_against"] for s in shares)})
    return pd.DataFrame(rows).reindex(columns=ENDPOINT_COLUMNS)


def holm_verdicts(rows: pd.DataFrame, alpha: float, family: bool = True) -> pd.DataFrame:
    """Holm's level per endpoint, the interval at it and the verdict read from it (module
    docstring). ``family=False``: each endpoint at α alone (a secondary protocol's, one per claim)."""
    out = rows.copy().reset_index(drop=True)
    K = len(out)
    order = np.argsort(out["p_for"].to_numpy(), kind="stable")
    rank = np.empty(K, dtype=int)
    rank[order] = np.arange(1, K + 1)
    out["rank"] = rank if family else 1
    out["alpha_level"] = alpha / (K - out["rank"] + 1) if family else alpha
    lows, highs, verdicts, stopped = [], [], [], []
    rejecting = True
    for i in order:
        r = out.loc[i]
        if r["status"] != "run":   # not run yet, or incomplete: no verdict, and Holm stops here
            lo = hi = math.nan
            verdict = r["status"]
        else:
            lo, hi = _interval(r, r["alpha_level"])
            clears, against = _claim_side(r["test"] if r["test"] != "proportion" else "superiority",
                                          r["margin"], lo, hi)
            verdict = St.HOLDS if clears and (rejecting or not family) else St.FAILS if against else St.INCONCLUSIVE
        stopped.append(bool(family and not rejecting and r["status"] == "run" and verdict != St.HOLDS
                            and r["p_for"] < r["alpha_level"]))
        rejecting = rejecting and verdict == St.HOLDS
        lows.append(lo), highs.append(hi), verdicts.append(verdict)
    out.loc[order, "ci_low"], out.loc[order, "ci_high"] = lows, highs
    out.loc[order, "verdict"], out.loc[order, "holm_stopped"] = verdicts, stopped
    return out


def _interval(r: pd.Series, level: float) -> tuple[float, float]:
    """The two-sided (1 − 2·level) interval: its ends are the one-sided (1 − level) bounds."""
    if r["test"] == "proportion":
        lo, hi = proportion_confint(int(r["k"]), int(r["n"]), alpha=2 * level, method="beta")
        return float(lo), float(hi)
    if not r["se"] > 0:
        return math.nan, math.nan
    half = float(stats.t.ppf(1 - level, r["df"])) * r["se"]
    return r["estimate"] - half, r["estimate"] + half


def analyse(protocol_cfg: dict, runs: dict, layers, analysis: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(endpoints, sensitivity): the primary family with Holm and the secondary protocol per claim
    at α, both labelled ``analysis``; the sensitivity repeats both at each MULTIPLIERS margin. A
    confirmatory endpoint needs the protocol's seeds (``n_seeds``) in every cell."""
    alpha = protocol_cfg["alpha"]
    planned = protocol_cfg["n_seeds"] if analysis == "confirmatory" else None
    rows = lambda level, m: endpoint_rows(protocol_cfg, level, runs, layers, m, planned)  # noqa: E731
    frames = {m: pd.concat([holm_verdicts(rows("primary", m), alpha),
                            holm_verdicts(rows("secondary", m), alpha, family=False)],
                           ignore_index=True).assign(analysis=analysis)
              for m in MULTIPLIERS}
    sens = pd.concat(frames.values(), ignore_index=True)[
        ["analysis", "claim", "level", "protocol", "margin_scale", "margin", "estimate", "ci_low", "ci_high", "verdict"]]
    return frames[1.0], sens


def unit_tests(protocol_cfg: dict, table1_runs: pd.DataFrame | None, analysis: str) -> pd.DataFrame:
    """The secondary per-unit tests of the Table 1 claims (every H–MS pair per row; H1 − H2 per row)
    at the primary endpoint's margin, Holm within claim and protocol (claims.table1_unit_tests)."""
    if table1_runs is None or table1_runs.empty:
        return pd.DataFrame(columns=["claim", "protocol", "unit", "test", "margin", "estimate", "ci_low", "ci_high",
                                     "verdict", "analysis"])
    frames = []
    for claim, spec in protocol_cfg["claims"].items():
        primary = spec.get("primary", {})
        if claim in C.TABLE1_UNITS and primary.get("table") == "table1":
            frames.append(C.table1_unit_tests(table1_runs, claim, primary["test"], primary["margin"],
                                              protocol_cfg["alpha"]))
    return pd.concat(frames, ignore_index=True).assign(analysis=analysis)


# --- the control design: each experiment's change beside an unchanged rerun, per cell ----------------

def control_effects(runs: pd.DataFrame, experiments: dict, alpha: float) -> pd.DataFrame:
    """Per experiment and off cell: changed − unchanged mean test accuracy (points) with its Welch
    (1 − 2α) interval, both arms fresh seeds of this study (``runs``: setting, dataset, depth, arch,
    test_acc). Descriptive across cells: the cells were chosen on the pilot."""
    acc = runs.assign(x=100 * pd.to_numeric(runs["test_acc"], errors="coerce").fillna(100 * CHANCE["table1"]))
    arm = {key: g["x"].to_numpy() for key, g in acc.groupby(["setting", "dataset", "depth", "arch"])}
    rows = []
    for name, spec in experiments.items():
        if "control_of" in spec:
            continue
        for dataset, per_arch in spec["cells"].items():
            for arch, depths in per_arch.items():
                for depth in depths:
                    changed = arm.get((name, dataset, depth, arch))
                    unchanged = arm.get((spec["protocol"], dataset, depth, arch))
                    if changed is None or unchanged is None:
                        continue
                    est, lo, hi, _ = St.welch(changed, unchanged, alpha)
                    rows.append({"experiment": name, "protocol": spec["protocol"], "dataset": dataset,
                                 "depth": depth, "arch": arch, "n_changed": len(changed),
                                 "n_unchanged": len(unchanged), "effect": est, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows, columns=["experiment", "protocol", "dataset", "depth", "arch", "n_changed",
                                       "n_unchanged", "effect", "ci_low", "ci_high"])

"""The paper's claims as the tests fixed in config/claims.yaml, run on paper/data.

Each claim splits into units (a pair of blocks in a cell, a depth step, a network); each unit is
one test of hdnn.statistics; p-values are Holm-adjusted over a claim's units within a protocol;
the claim's verdict per protocol combines its units' (``statistics.combine``). ``evaluate``
returns two frames, written to paper/data as claims.csv (one row per claim and protocol) and
claim_tests.csv (one row per unit). The paper's single runs go through the same units without a
test (one run has no spread): their rows say how many units point the claim's way.

Every function takes frames of paper/data/*.csv; accuracies are in [0, 1] there and in points here.
"""

from __future__ import annotations

import math
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from hdnn import statistics as St
from hdnn.runs import CLAIMS_FILE, paper_values

H_ARCHS, MS_ARCHS = ("H1", "H2"), ("MS1", "MS2", "MS3")
PAPER_ROWS = "paper's own numbers"  # the protocol label of the paper's single runs
ORDER = ("h_ge_ms", "h1_eq_h2", "depth_gain", "ms1_eq_h2", "h1_grad_band", "fc_vanish", "lemma3")
TESTS = {"noninferiority": St.noninferiority, "superiority": St.superiority,
         "equivalence": St.equivalence}


def load_spec(path: str | Path = CLAIMS_FILE) -> dict:
    spec = yaml.safe_load(Path(path).read_text())
    missing = set(ORDER) - set(spec["claims"])
    if missing:
        raise ValueError(f"{path}: claims {sorted(missing)} are missing")
    return spec


def paper_table1_runs(paper: dict | None = None) -> pd.DataFrame:
    t1 = (paper or paper_values())["table1"]
    return pd.DataFrame([{"protocol": PAPER_ROWS, "dataset": d, "depth": n, "arch": a, "seed_index": 0,
                          "test_acc": acc / 100}
                         for d, per_depth in t1.items() if d != "params_per_layer"
                         for n, per_arch in per_depth.items() for a, acc in per_arch.items()])


def paper_table2_runs(paper: dict | None = None) -> pd.DataFrame:
    t2 = (paper or paper_values())["table2"]
    return pd.DataFrame([{"protocol": PAPER_ROWS, "column": a, "arch": a, "depth": d, "seed_index": 0,
                          "train_acc": v["train"] / 100, "test_acc": v["test"] / 100}
                         for a, per_depth in t2.items() for d, v in per_depth.items()])


def paper_columns(runs: pd.DataFrame) -> pd.DataFrame:
    """Table 2's columns that are the paper's (MS1, H2), labelled by column: MS1 trained with
    H2's settings is a diagnostic, not a column of the paper's claims."""
    if "column" not in runs:
        return runs
    return runs[runs["column"] == runs["arch"]].assign(arch=lambda r: r["column"])


# --- units: (label, a, b) triples of accuracies in points, a − b the tested difference -----------

def _points(frame: pd.DataFrame) -> np.ndarray:
    return 100 * frame["test_acc"].to_numpy(dtype=float)


def h_ge_ms_units(cell: pd.DataFrame, key: str):
    archs = set(cell["arch"])
    for h, ms in product(H_ARCHS, MS_ARCHS):
        if {h, ms} <= archs:
            yield f"{key} {h} − {ms}", _points(cell[cell.arch == h]), _points(cell[cell.arch == ms])


def h1_eq_h2_units(cell: pd.DataFrame, key: str):
    if {"H1", "H2"} <= set(cell["arch"]):
        yield f"{key} H1 − H2", _points(cell[cell.arch == "H1"]), _points(cell[cell.arch == "H2"])


def _table1_units(runs: pd.DataFrame, units_of):
    for protocol, p in runs.groupby("protocol", sort=False):
        for (dataset, depth), cell in p.groupby(["dataset", "depth"], sort=False):
            for unit in units_of(cell, f"{dataset} {int(depth)}"):
                yield protocol, unit


def _depth_units(runs: pd.DataFrame):
    """Per protocol and column: the overall gain (superiority) and each step (non-inferiority)."""
    for (protocol, column), g in paper_columns(runs).groupby(["protocol", "arch"], sort=False):
        depths = sorted(set(g["depth"]))
        acc = {d: _points(g[g.depth == d]) for d in depths}
        yield protocol, "superiority", (f"{column} {depths[0]}→{depths[-1]}", acc[depths[-1]], acc[depths[0]])
        for a, b in zip(depths, depths[1:]):
            yield protocol, "noninferiority", (f"{column} {a}→{b}", acc[b], acc[a])


def _ms1_h2_units(runs: pd.DataFrame):
    for (protocol, depth), cell in paper_columns(runs).groupby(["protocol", "depth"], sort=False):
        if {"MS1", "H2"} <= set(cell["arch"]):
            yield protocol, (f"{int(depth)} layers MS1 − H2", _points(cell[cell.arch == "MS1"]),
                             _points(cell[cell.arch == "H2"]))


# --- tests per unit, Holm per (claim, protocol), verdicts --------------------------------------------

def _test_rows(claim: str, units, test: str, margin: float, alpha: float) -> list[dict]:
    """``units``: (protocol, (label, a, b)) or (protocol, test, (label, a, b)) items. Seeds to
    decide a unit are counted at α / (units of its protocol), Holm's strictest level."""
    items = [item if len(item) == 3 else (item[0], test, item[1]) for item in units]
    family = pd.Series([protocol for protocol, _, _ in items]).value_counts()
    rows = []
    for protocol, kind, (label, a, b) in items:
        base = {"claim": claim, "protocol": protocol, "unit": label, "test": kind, "margin": margin}
        if protocol == PAPER_ROWS:
            rows.append({**base, "estimate": float(a.mean() - b.mean()), "n": 1})
            continue
        t = TESTS[kind](a, b, margin, alpha, alpha_decide=alpha / family[protocol])
        rows.append({**base, **t.row()})
    return rows


TABLE1_UNITS = {"h_ge_ms": h_ge_ms_units, "h1_eq_h2": h1_eq_h2_units}


def table1_unit_tests(runs: pd.DataFrame, claim: str, test: str, margin: float, alpha: float) -> pd.DataFrame:
    """A Table 1 claim's units (runs with a ``protocol`` column) tested, Holm within the claim and
    protocol: the confirmatory protocol's secondary analysis."""
    return _decide(pd.DataFrame(_test_rows(claim, _table1_units(runs, TABLE1_UNITS[claim]), test, margin, alpha)), alpha)


def _units_side(row) -> bool:
    """Does a point estimate lie on the claim's side of the margin (the paper's single runs)?"""
    m, e = row["margin"], row["estimate"]
    return {"noninferiority": e > -m, "superiority": e > m, "equivalence": abs(e) < m}[row["test"]]


def _decide(tests: pd.DataFrame, alpha: float) -> pd.DataFrame:
    if tests.empty:
        return tests
    out = []
    for (claim, protocol), g in tests.groupby(["claim", "protocol"], sort=False):
        g = g.copy()
        if protocol == PAPER_ROWS:
            g["verdict"] = St.NO_TEST
        else:
            g["p_for_holm"], g["p_against_holm"] = St.holm(g["p_for"]), St.holm(g["p_against"])
            g["verdict"] = [St.decide(f, a, alpha) for f, a in zip(g["p_for_holm"], g["p_against_holm"])]
        out.append(g)
    return pd.concat(out, ignore_index=True) if out else tests


def _worst(g: pd.DataFrame) -> pd.Series:
    """The unit furthest from deciding the claim its way: the lowest lower bound (one-sided
    claims), the bound furthest from zero (equivalence). Called on the units whose verdict is the
    claim's, so the unit named carries it."""
    low, high = g["ci_low"].fillna(g["estimate"]), g["ci_high"].fillna(g["estimate"])  # no interval: n = 1
    if (g["test"] == "equivalence").all():
        return g.loc[pd.concat([low.abs(), high.abs()], axis=1).max(axis=1).idxmax()]
    return g.loc[(low - np.where(g["test"] == "superiority", g["margin"], -g["margin"])).idxmin()]


def _summary(tests: pd.DataFrame, spec: dict) -> pd.DataFrame:
    rows = []
    for (claim, protocol), g in tests.groupby(["claim", "protocol"], sort=False):
        c = spec["claims"][claim]
        row = {"claim": claim, "protocol": protocol, "title": c["title"], "margin": g["margin"].iloc[0],
               "alpha": spec["alpha"], "units": len(g)}
        if protocol == PAPER_ROWS:
            side = int(g.apply(_units_side, axis=1).sum())
            worst = g.loc[g["estimate"].idxmin()] if c["test"] != "equivalence" else g.loc[g["estimate"].abs().idxmax()]
            rows.append({**row, "verdict": St.NO_TEST, "estimate": worst["estimate"], "worst_unit": worst["unit"],
                         "n": 1, "units_hold": side, "units_fail": len(g) - side, "units_inconclusive": 0})
            continue
        verdict = St.combine(g["verdict"])
        worst = _worst(g[g["verdict"] == verdict])   # the worst unit among those that carry the verdict
        undecided = g.loc[g["verdict"] == St.INCONCLUSIVE, "seeds_to_decide"]
        rows.append({**row, "verdict": verdict, "estimate": worst["estimate"],
                     "ci_low": worst["ci_low"], "ci_high": worst["ci_high"], "worst_unit": worst["unit"],
                     "n": int(g["n"].min()), "units_hold": int((g["verdict"] == St.HOLDS).sum()),
                     "units_fail": int((g["verdict"] == St.FAILS).sum()),
                     "units_inconclusive": int((g["verdict"] == St.INCONCLUSIVE).sum()),
                     "seeds_to_decide": undecided.max() if len(undecided) else math.nan})
    return pd.DataFrame(rows)


# --- Figure 2 and Lemma 3: per-seed facts, then a share of seeds -------------------------------------

def _plotted(grads: pd.DataFrame, layers) -> pd.DataFrame:
    """The batch-mean Jacobian's norms (the authors' definition) at the plotted layers ℓ."""
    return grads[(grads["kind"] == "mean_jacobian") & grads["layer"].isin(layers)]


def band_seeds(grads: pd.DataFrame, layers) -> pd.DataFrame:
    """Per network with a paper band and seed: min and max over training and plotted ℓ, inside?"""
    banded = _plotted(grads[grads["paper_norm_low"].notna()], layers)
    g = banded.groupby(["network", "seed_index"], sort=False).agg(
        low=("paper_norm_low", "first"), high=("paper_norm_high", "first"), min=("min", "min"), max=("max", "max"))
    g["inside"] = (g["low"] <= g["min"]) & (g["max"] <= g["high"])
    return g.reset_index()


def fc_seeds(grads: pd.DataFrame, layers, c: dict) -> pd.DataFrame:
    """Per seed of the vanishing-gradient network: vanished, near chance, stall near the paper's."""
    fc = grads[(grads["paper_vanishing"] == True) & (grads["kind"] == "mean_jacobian")  # noqa: E712
               & (grads["layer"] == min(layers))].copy()
    stall, paper = fc["stall_iteration"], fc["paper_stall_iteration"]
    fc["vanished"] = fc["min"] < c["vanished"]
    fc["near_chance"] = (100 * fc["test_acc"] - 50).abs() <= c["chance_points"]
    fc["stall_near_paper"] = (paper / c["stall_factor"] <= stall) & (stall <= paper * c["stall_factor"])
    fc["all_three"] = fc["vanished"] & fc["near_chance"] & fc["stall_near_paper"]
    return fc[["network", "seed_index", "min", "test_acc", "stall_iteration", "paper_stall_iteration",
               "vanished", "near_chance", "stall_near_paper", "all_three"]]


def _share_rows(claim: str, per_seed: pd.DataFrame, ok: str, margin: float, alpha: float) -> list[dict]:
    rows, family = [], per_seed["network"].nunique()
    for network, g in per_seed.groupby("network", sort=False):
        t = St.proportion_above(int(g[ok].sum()), len(g), margin, alpha, alpha_decide=alpha / family)
        rows.append({"claim": claim, "protocol": "figure2", "unit": network, "test": "proportion",
                     "margin": margin, **t.row()})
    return rows


def _lemma3_rows(grads: pd.DataFrame, margin: float) -> list[dict]:
    per = grads[grads["lemma3_ratio"].notna()].drop_duplicates(["network", "seed_index"])
    rows = []
    for network, g in per.groupby("network", sort=False):
        r = g["lemma3_ratio"]
        ok = bool((r < margin).all())
        rows.append({"claim": "lemma3", "protocol": "figure2", "unit": network, "test": "bound", "margin": margin,
                     "estimate": r.max(), "ci_low": r.min(), "ci_high": r.max(), "n": len(r),
                     "p_for": 0.0 if ok else 1.0, "p_against": 1.0 if ok else 0.0, "seeds_to_decide": math.nan})
    return rows


def evaluate(table1_runs: pd.DataFrame | None, table2_runs: pd.DataFrame | None,
             grads: pd.DataFrame | None, layers, spec: dict | None = None,
             paper: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(claims, claim_tests) from paper/data's frames; a claim whose data are missing is absent."""
    spec = spec or load_spec()
    alpha, cs = spec["alpha"], spec["claims"]
    rows = []
    if table1_runs is not None and not table1_runs.empty:
        t1 = pd.concat([paper_table1_runs(paper), table1_runs], ignore_index=True)
        rows += _test_rows("h_ge_ms", _table1_units(t1, h_ge_ms_units), "noninferiority",
                           cs["h_ge_ms"]["margin"], alpha)
        rows += _test_rows("h1_eq_h2", _table1_units(t1, h1_eq_h2_units), "equivalence",
                           cs["h1_eq_h2"]["margin"], alpha)
    if table2_runs is not None and not table2_runs.empty:
        t2 = pd.concat([paper_table2_runs(paper), table2_runs], ignore_index=True)
        rows += _test_rows("depth_gain", _depth_units(t2), "", cs["depth_gain"]["margin"], alpha)
        rows += _test_rows("ms1_eq_h2", _ms1_h2_units(t2), "equivalence", cs["ms1_eq_h2"]["margin"], alpha)
    if grads is not None and not grads.empty:
        rows += _share_rows("h1_grad_band", band_seeds(grads, layers), "inside",
                            cs["h1_grad_band"]["margin"], alpha)
        rows += _share_rows("fc_vanish", fc_seeds(grads, layers, cs["fc_vanish"]), "all_three",
                            cs["fc_vanish"]["margin"], alpha)
        rows += _lemma3_rows(grads, cs["lemma3"]["margin"])
    if not rows:
        return pd.DataFrame(), pd.DataFrame()
    tests = _decide(pd.DataFrame(rows), alpha)
    tests["claim"] = pd.Categorical(tests["claim"], ORDER, ordered=True)
    tests = tests.sort_values("claim", kind="stable").assign(claim=lambda t: t["claim"].astype(str))
    return _summary(tests, spec), tests.reset_index(drop=True)


# --- the Table 1 claims over the settings searched (validation accuracies, never test) ------------

SEARCH_COLUMNS = ("dataset", "arch", "depth", "seed_index", "val_acc")


def _setting_labels(search: pd.DataFrame) -> pd.Series:
    keys = [c for c in search.columns if c not in SEARCH_COLUMNS]
    return search[keys].astype(str).apply(lambda r: ", ".join(f"{k} {v}" for k, v in r.items()), axis=1)


def robustness(search: pd.DataFrame | None, spec: dict | None = None) -> pd.DataFrame:
    """Per Table 1 claim and searched setting (table1_tuning_runs.csv: every arch trained with
    it, at the searched depths, on validation data): the claim's verdict and units decided."""
    spec = spec or load_spec()
    if search is None or search.empty:
        return pd.DataFrame(columns=["claim", "setting", "verdict", "units", "units_hold", "units_fail", "n"])
    alpha = spec["alpha"]
    runs = search.assign(protocol=_setting_labels(search), test_acc=search["val_acc"])
    rows = []
    for claim, units_of, test in (("h_ge_ms", h_ge_ms_units, "noninferiority"),
                                  ("h1_eq_h2", h1_eq_h2_units, "equivalence")):
        tests = _decide(pd.DataFrame(_test_rows(claim, _table1_units(runs, units_of), test,
                                                spec["claims"][claim]["margin"], alpha)), alpha)
        for setting, g in (tests.groupby("protocol", sort=False) if len(tests) else ()):
            rows.append({"claim": claim, "setting": setting, "verdict": St.combine(g["verdict"]),
                         "units": len(g), "units_hold": int((g["verdict"] == St.HOLDS).sum()),
                         "units_fail": int((g["verdict"] == St.FAILS).sum()), "n": int(g["n"].min())})
    return pd.DataFrame(rows)

"""Power analysis of the confirmatory protocol (config/confirmatory.yaml) on the pilot's runs.

What: for each primary endpoint, and for each unit of the secondary per-cell tests, the spread
the pilot shows under the primary protocol, the seeds per cell that give power >= the target
when the claim is true, and what they cost; then the seeds per table. Why: the confirmatory runs'
size is fixed before they run, from the pilot's spreads only (the margins come from the paper,
not from where the pilot's estimates fall).

An endpoint is a contrast L = Σ w_c μ_c of cell means (cell: data set or MNIST column, depth,
arch). Different cells are different runs, so they are independent: Var(L̂) = Σ w_c² σ_c² / n
with n seeds per cell, and L̂'s t statistic has the Welch–Satterthwaite degrees of freedom
ν = (Σ w²σ²)² (n − 1) / Σ (w²σ²)². Each σ_c is the pilot's sd raised to its one-sided upper
confidence bound (``sd_inflation``, config power.sd_confidence). Power is statsmodels' ``ttest_power`` (noncentral t) with
effect size (distance from the true L to the margin) / sqrt(Σ w²σ²) and df ν. Non-inferiority
and superiority are one-sided; equivalence (TOST) at a true L of 0 has power 2·P(one side) − 1
(each side needs 1 − β/2). Proportions: the exact one-sided binomial test (the Clopper–Pearson
bound's decision) through scipy.stats.binom; an intersection–union endpoint over networks has
the product of their powers (independent runs). Levels: alpha / K for the K primaries
(Bonferroni, Holm's first step), alpha / units for a claim's secondary units.

Cost: the pilot's per-run wall times (one thread per run, so core-seconds), per seed of a cell,
scaled linearly; the 2-core machine's wall time is half of it (two jobs side by side).

    python -m hdnn.power [--csv paper/data/power.csv]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats
from statsmodels.stats.power import ttest_power

from hdnn.confirmatory import pilot_data
from hdnn.runs import ROOT, paper_values

CONFIG = ROOT / "config" / "confirmatory.yaml"
N_MAX = 1000
WINDOW = 25      # seeds_needed: power must hold this many seeds beyond n
CELL = ["group", "depth", "arch"]
# benchmarks/README.md: the tuned Table 2 protocol, 29 runs in 4 min on one H100 (15 jobs, MPS).
GPU_S_PER_MNIST_RUN = 240 / 29


# --- statistics, composed of statsmodels and scipy ----------------------------------------------

def contrast_sd(w, sd) -> float:
    """sqrt(Σ w² σ²): the standard deviation of L̂ with one seed per cell."""
    return float(np.sqrt(np.sum(np.square(w) * np.square(sd))))


def welch_df(w, sd, n: int) -> float:
    """Welch–Satterthwaite degrees of freedom of L̂ with n seeds per cell."""
    v = np.square(w) * np.square(sd)
    return float(v.sum() ** 2 * (n - 1) / np.sum(v ** 2))


def power_t(test: str, margin: float, w, sd, n: int, alpha: float, true: float = 0.0) -> float:
    """Power of the contrast's t test: ``test`` noninferiority (L > −margin), superiority
    (L > margin) or equivalence (|L| < margin, TOST, at true 0), when L equals ``true``."""
    s, df = contrast_sd(w, sd), welch_df(w, sd, n)
    one = lambda dist: ttest_power(dist / s, n, alpha, df=df, alternative="larger")  # noqa: E731
    if test == "noninferiority":
        return float(one(true + margin))
    if test == "superiority":
        return float(one(true - margin))
    if test == "equivalence":
        return float(max(0.0, one(margin - true) + one(margin + true) - 1))
    raise ValueError(f"unknown test {test!r}")


def power_proportion(n: int, p0: float, p1: float, alpha: float) -> float:
    """Power of the exact one-sided binomial test of share > p0 when the share is p1."""
    k = np.arange(n + 1)
    reject = k[stats.binom.sf(k - 1, n, p0) <= alpha]   # P(X >= k | p0) <= alpha
    return float(stats.binom.sf(reject[0] - 1, n, p1)) if len(reject) else 0.0


def seeds_needed(power_of_n, target: float, n_max: int = N_MAX, window: int = WINDOW) -> float:
    """Smallest n >= 2 whose power, and that of the next ``window`` n, is >= target (exact
    binomial power is saw-toothed); inf past n_max."""
    ok = [power_of_n(n) >= target for n in range(2, 2 + window)]
    for n in range(2, n_max + 1):
        if all(ok):
            return float(n)
        ok = ok[1:] + [power_of_n(n + window) >= target]
    return math.inf


# --- the pilot ---------------------------------------------------------------------------------

def pilot_cells(table: str, protocol: str, data: Path) -> pd.DataFrame:
    """Per cell of a table under a protocol: sd of test accuracy (points) and seconds per run."""
    if table == "table1":
        runs = pd.read_csv(data / "table1_runs.csv").rename(columns={"dataset": "group"})
    elif table == "table2":
        runs = pd.read_csv(data / "table2_runs.csv").drop(columns="arch").rename(columns={"column": "arch"})
        runs["group"] = "mnist"
    else:
        raise ValueError(table)
    runs = runs[runs["protocol"] == protocol]
    return runs.groupby(CELL).agg(sd=("test_acc", lambda x: 100 * x.std(ddof=1)),
                                  df=("test_acc", lambda x: x.count() - 1),
                                  cost_s=("wall_time_s", "mean")).reset_index()


def sd_inflation(df, confidence: float) -> float:
    """sqrt(ν / χ²_{1−confidence}(ν)), ν = Σ df of the cells used: the one-sided upper confidence
    bound of a spread estimated on ν degrees of freedom, as a factor on the pilot's sds (a pilot
    of few seeds must not under-size the design by an unluckily small spread)."""
    nu = float(np.sum(df))
    return float(math.sqrt(nu / stats.chi2.ppf(1 - confidence, nu)))


def figure2_cost(networks, data: Path, seeds: int | None = None) -> float:
    """Seconds per seed for the networks: their Figure 2 jobs (all seeds stacked) / seeds."""
    seeds = seeds or yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["figure2"]["n_seeds"]
    bench = pd.read_csv(data / "benchmarks.csv").set_index("job")["s"]
    return float(sum(bench[f"figure2/{n}"] for n in networks) / seeds)


def _select(cells: pd.DataFrame, side: dict) -> pd.Series:
    mask = cells["arch"].isin(side["arch"])
    return mask & cells["depth"].isin(side["depth"]) if "depth" in side else mask


def weights(cells: pd.DataFrame, plus: dict, minus: dict) -> np.ndarray:
    """w: +1/|plus| on the plus cells, −1/|minus| on the minus cells (mean minus mean)."""
    p, m = _select(cells, plus), _select(cells, minus)
    return (p / p.sum() - m / m.sum()).to_numpy(dtype=float)


# --- endpoints ---------------------------------------------------------------------------------

def _row(claim, level, unit, test, margin, true, w, sd, cost_per_seed, alpha, target, gpu_runs=0):
    pw = lambda n: power_t(test, margin, w, sd, n, alpha, true)  # noqa: E731
    need = seeds_needed(pw, target)
    return {"claim": claim, "level": level, "unit": unit, "test": test, "margin": margin,
            "true": true, "pilot_sd": contrast_sd(w, sd), "alpha": alpha, "seeds_needed": need,
            "cost_s_per_seed": cost_per_seed, "gpu_runs_per_seed": gpu_runs, "_power": pw}


def _prop_row(claim, level, unit, networks, c, alpha, target, p1, data):
    pw = lambda n: math.prod(power_proportion(n, c["margin"], p1, alpha) for _ in networks)  # noqa: E731
    return {"claim": claim, "level": level, "unit": unit, "test": "proportion", "margin": c["margin"],
            "true": p1, "pilot_sd": math.nan, "alpha": alpha, "seeds_needed": seeds_needed(pw, target),
            "cost_s_per_seed": figure2_cost(networks, data), "gpu_runs_per_seed": 0, "_power": pw}


def _secondary(claim, spec, cells, alpha, target, paper, confidence):
    """The claim's per-unit tests: pairs of archs within a (group, depth) row, or, for a depth
    contrast, each column's deepest − shallowest and each step."""
    p, plus, minus = spec["primary"], spec["primary"]["plus"], spec["primary"]["minus"]
    units = []
    if "depth" in plus and plus["depth"] != minus["depth"]:            # depth_gain
        depths = sorted(cells["depth"].unique())
        for arch in plus["arch"]:
            gain = paper[arch][plus["depth"][0]]["test"] - paper[arch][minus["depth"][0]]["test"]
            units.append((f"{arch} {minus['depth'][0]}→{plus['depth'][0]}", "superiority", p["margin"],
                          gain, {"arch": [arch], "depth": plus["depth"]}, {"arch": [arch], "depth": minus["depth"]}))
            for lo, hi in zip(depths, depths[1:]):
                units.append((f"{arch} {lo}→{hi}", "noninferiority", spec["step_margin"], 0.0,
                              {"arch": [arch], "depth": [hi]}, {"arch": [arch], "depth": [lo]}))
    else:
        rows = cells[_select(cells, plus) | _select(cells, minus)][["group", "depth"]].drop_duplicates()
        for g, d in rows.itertuples(index=False):
            for a in plus["arch"]:
                for b in minus["arch"]:
                    units.append((f"{g} {d} {a} − {b}", p["test"], p["margin"], 0.0,
                                  {"arch": [a], "depth": [d], "group": g}, {"arch": [b], "depth": [d], "group": g}))
    out = []
    for unit, test, margin, true, a, b in units:
        sub = cells[cells["group"] == a["group"]] if "group" in a else cells
        w = weights(sub, a, b)
        used = w != 0
        sd = sub["sd"].to_numpy()[used] * sd_inflation(sub["df"].to_numpy()[used], confidence)
        out.append(_row(claim, "secondary", unit, test, margin, true, w[used], sd,
                        float(sub["cost_s"].to_numpy()[used].sum()), alpha / len(units), target,
                        int(used.sum()) if "mnist" in set(sub["group"]) else 0))
    return out


def endpoints(cfg: dict | None = None, data: Path | None = None) -> pd.DataFrame:
    """One row per primary endpoint and per secondary unit: spread, seeds needed, cost per seed."""
    cfg = cfg or yaml.safe_load(CONFIG.read_text())
    data = data or pilot_data(cfg["power"]["pilot_commit"])
    alpha, target = cfg["alpha"], cfg["power"]["target"]
    family, p1 = cfg["multiplicity"]["family"], cfg["power"]["proportion_alternative"]
    confidence = cfg["power"]["sd_confidence"]
    paper = paper_values()["table2"]
    rows = []
    for claim in family:
        spec = cfg["claims"][claim]
        p = spec["primary"]
        if p["test"] == "proportion":
            rows.append(_prop_row(claim, "primary", " ∧ ".join(p["networks"]), p["networks"], p,
                                  alpha / len(family), target, p1, data))
            if len(p["networks"]) > 1:
                rows += [_prop_row(claim, "secondary", n, [n], p, alpha / len(p["networks"]), target, p1, data)
                         for n in p["networks"]]
            continue
        cells = pilot_cells(p["table"], cfg["primary_protocol"][p["table"]], data)
        w = weights(cells, p["plus"], p["minus"])
        used = w != 0
        true = p.get("alternative", 0.0)
        sd = cells["sd"].to_numpy()[used] * sd_inflation(cells["df"].to_numpy()[used], confidence)
        rows.append(_row(claim, "primary", "mean contrast", p["test"], p["margin"], true, w[used],
                         sd, float(cells["cost_s"].to_numpy()[used].sum()),
                         alpha / len(family), target, int(used.sum()) if p["table"] == "table2" else 0))
        rows += _secondary(claim, spec, cells, alpha, target, paper, confidence)
    return pd.DataFrame(rows)


# --- the plan ----------------------------------------------------------------------------------

def _table_of(cfg: dict, claim: str) -> str:
    return cfg["claims"][claim]["primary"]["table"]


def control_cost_s(cfg: dict, data: Path) -> float:
    """Seconds per seed of the control design: every experiment's changed arm on its off cells
    (the pilot's experiment runs) and `paper`'s off cells rerun unchanged."""
    exp = pd.read_csv(data / "table1_experiments_runs.csv")
    changed = exp[~exp["experiment"].str.endswith("_control")]
    per_cell = changed.groupby(["experiment", "dataset", "depth", "arch"])["wall_time_s"].mean().sum()
    spec = yaml.safe_load((ROOT / "config" / "experiments_table1.yaml").read_text())["experiments"]["runs"]
    paper_cells = next(r["cells"] for r in spec.values() if r["protocol"] == "paper")
    cells = pilot_cells("table1", "paper", data).set_index(CELL)["cost_s"]
    unchanged = sum(cells[(g, d, a)] for g, per in paper_cells.items() for a, ds in per.items() for d in ds)
    return float(per_cell + unchanged)


def plan(cfg: dict | None = None, df: pd.DataFrame | None = None, data: Path | None = None) -> dict:
    """Seeds per table (the largest need of its primaries), the cost of the runs the budget covers
    at those seeds (core-minutes; Table 2's secondary protocol is outside it) and the primaries
    that stay under the target."""
    cfg = cfg or yaml.safe_load(CONFIG.read_text())
    data = data or pilot_data(cfg["power"]["pilot_commit"])
    df = endpoints(cfg, data) if df is None else df
    prim = df[df["level"] == "primary"].assign(table=lambda d: [_table_of(cfg, c) for c in d["claim"]])
    n = {t: int(g["seeds_needed"].max()) for t, g in prim.groupby("table")}
    n["control"] = cfg["n_seeds"]["control"]
    per_seed = {
        "table1": sum(pilot_cells("table1", p, data)["cost_s"].sum()
                      for p in (cfg["primary_protocol"]["table1"], cfg["primary_protocol"]["secondary"]["table1"])),
        # Table 2's secondary protocol runs after, as far as the budget goes (not counted).
        "table2": pilot_cells("table2", cfg["primary_protocol"]["table2"], data)
                  .query("arch in ['MS1', 'H2']")["cost_s"].sum(),
        "figure2": figure2_cost(cfg["figure2"]["networks"], data),
        "control": control_cost_s(cfg, data),
    }
    cost = {t: n[t] * per_seed[t] / 60 for t in per_seed}
    total = sum(cost.values())
    return {"n_seeds": n, "core_minutes": cost, "total_core_minutes": total,
            "budget": cfg["budget"]["core_minutes"], "fits": total <= cfg["budget"]["core_minutes"],
            "gpu_minutes_table2": n["table2"] * 2 * 10 * GPU_S_PER_MNIST_RUN / 60,
            "inconclusive": sorted(prim.loc[prim["seeds_needed"] > prim["table"].map(n), "claim"])}


def table(cfg: dict | None = None, data: Path | None = None) -> tuple[pd.DataFrame, dict]:
    """The power table (with power and cost at the chosen seeds) and the plan."""
    cfg = cfg or yaml.safe_load(CONFIG.read_text())
    data = data or pilot_data(cfg["power"]["pilot_commit"])
    df = endpoints(cfg, data)
    pl = plan(cfg, df, data)
    chosen = [pl["n_seeds"][_table_of(cfg, c)] for c in df["claim"]]
    df["seeds_chosen"] = chosen
    df["power_at_chosen"] = [f(n) for f, n in zip(df["_power"], chosen)]
    need = df["seeds_needed"].replace(math.inf, np.nan)
    df["core_min_needed"] = need * df["cost_s_per_seed"] / 60
    df["wall_min_2cores_needed"] = df["core_min_needed"] / 2
    df["gpu_min_needed"] = need * df["gpu_runs_per_seed"] * GPU_S_PER_MNIST_RUN / 60
    return df.drop(columns="_power"), pl


def write_csv(path: str | Path, cfg: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """The power table as paper/data/power.csv holds it (rounded, so that it is stable across
    machines), and the plan."""
    df, pl = table(cfg)
    df.round(6).to_csv(path, index=False)
    return df, pl


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--csv", help="write the table here (e.g. paper/data/power.csv)")
    args = ap.parse_args(argv)
    df, pl = write_csv(args.csv, None) if args.csv else table()
    cols = ["claim", "unit", "test", "margin", "true", "pilot_sd", "alpha", "seeds_needed",
            "seeds_chosen", "power_at_chosen", "core_min_needed", "gpu_min_needed"]
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_rows", 200):
        print("Primary endpoints (power at the Bonferroni level alpha / K):")
        print(df.loc[df["level"] == "primary", cols].round(4).to_string(index=False))
        sec = df[df["level"] == "secondary"].groupby("claim", sort=False).agg(
            units=("unit", "size"), reach_target=("power_at_chosen", lambda p: int((p >= 0.8).sum())),
            seeds_chosen=("seeds_chosen", "first"), max_seeds_needed=("seeds_needed", "max"))
        print("\nSecondary units (Holm within a claim; power at alpha / units):")
        print(sec.to_string())
    print(f"\nSeeds per table: {pl['n_seeds']}")
    print("Core-minutes at those seeds (Table 1 both protocols, Table 2 primary, controls): "
          + ", ".join(f"{k} {v:.0f}" for k, v in pl["core_minutes"].items())
          + f"; total {pl['total_core_minutes']:.0f} of {pl['budget']} "
          f"({pl['total_core_minutes'] / 2:.0f} min on 2 cores); fits: {pl['fits']}")
    print(f"Table 2 on one H100 instead (15 jobs, MPS): about {pl['gpu_minutes_table2']:.0f} min")
    print(f"Primaries expected inconclusive: {pl['inconclusive'] or 'none'}")
    if args.csv:
        print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()

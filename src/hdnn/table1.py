"""Table 1 (the 2-D data sets): per-run and per-cell tables with the paper's single runs beside,
each cell's verdict (``verdict``), the paper's layout in Markdown and LaTeX, the experiments
beside the protocol runs they change, and the ablation (a diagnostic that chooses nothing).

Nothing here trains or chooses: it reads run records (hdnn.runs.collect_runs) and aggregates them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hdnn.reporting import latex_table, paper_order
from hdnn.runs import match_points, paper_values

MARK_POINTS = match_points("table1")  # a cell within this many points of the paper is a match (verdict)


def add_paper_table1(df: pd.DataFrame, paper: dict | None = None) -> pd.DataFrame:
    t1 = (paper or paper_values())["table1"]
    out = df.copy()
    # A cell the paper did not run gets NaN, never a made-up value.
    out["paper_test_acc"] = [t1.get(d, {}).get(int(n), {}).get(a, float("nan")) / 100
                             for d, n, a in zip(out["dataset"], out["depth"], out["arch"])]
    return out


VERDICTS = ("match", "consistent", "off")
VERDICT_MARKS = {"match": "", "consistent": " °", "off": " †"}


def verdict(mean: float, low: float, high: float, paper: float) -> str:
    """match: |our mean − paper| ≤ MARK_POINTS; consistent: not a match, but the paper's single
    run lies within our seeds' range [low, high]; off: neither. All in percent."""
    if abs(mean - paper) <= MARK_POINTS:
        return "match"
    return "consistent" if low <= paper <= high else "off"


def _cell_stats(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby(["setting", "dataset", "depth", "arch"], sort=False)
    return g.agg(mean=("test_acc", "mean"), sd=("test_acc", "std"), min=("test_acc", "min"),
                 max=("test_acc", "max"), n=("test_acc", "size"),
                 diverged=("diverged", "sum"), paper=("paper_test_acc", "first")).reset_index()


def table1_cells(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (protocol, cell), in percent: n, mean, sd, min, max over seeds, the paper's
    value and the verdict (``verdict``). Input: collect_runs + add_paper_table1."""
    stats = _cell_stats(df).rename(columns={"setting": "protocol"})
    for col in ("mean", "sd", "min", "max", "paper"):
        stats[col] = 100 * stats[col]
    stats["sd"] = stats["sd"].fillna(0.0)
    stats["verdict"] = [verdict(*v) for v in stats[["mean", "min", "max", "paper"]].itertuples(index=False)]
    return stats[["protocol", "dataset", "depth", "arch", "n", "mean", "sd", "min", "max",
                  "paper", "verdict", "diverged"]]


def _fmt_cell(r) -> str:
    div = f" [{int(r['diverged'])} diverged]" if r["diverged"] else ""
    return f"{r['mean']:.1f} ± {r['sd']:.1f} ({r['paper']:g}){VERDICT_MARKS[r['verdict']]}{div}"


def read_block_params(path: str | Path) -> dict[str, int]:
    """arch → parameters per layer at nf = 4, as hdnn.block_params wrote them."""
    return pd.read_csv(path).set_index("arch")["params_per_layer"].to_dict()


def table1_frames(cells: pd.DataFrame, params: dict[str, int]) -> dict[str, pd.DataFrame]:
    """Per protocol, the paper's layout: rows (dataset, depth), columns architectures, and the
    parameters per layer (``params``: arch → count at nf = 4) below."""
    stats = cells.assign(cell=cells.apply(_fmt_cell, axis=1))
    archs = paper_order(cells["arch"])
    out = {}
    for protocol, s in stats.groupby("protocol", sort=False):
        wide = s.pivot(index=["dataset", "depth"], columns="arch", values="cell")
        wide = wide.reindex(columns=archs)
        order = {"swiss_roll": 0, "double_moons": 1}
        wide = wide.sort_index(key=lambda idx: idx.map(order) if idx.name == "dataset" else idx)
        wide.loc[("parameters per layer", "nf = 4"), :] = [f"{params[a]}" for a in archs]
        out[protocol] = wide
    return out


def distance_to_paper(df: pd.DataFrame) -> pd.DataFrame:
    """Per setting: mean over cells of |our mean − paper| in points, and our mean accuracy."""
    stats = _cell_stats(df)
    stats["abs_dev"] = (stats["mean"] - stats["paper"]).abs() * 100
    return (stats.groupby("setting", sort=False)
            .agg(mean_abs_dev_points=("abs_dev", "mean"), max_abs_dev_points=("abs_dev", "max"),
                 mean_test_acc=("mean", "mean"), cells_beyond_2_points=("abs_dev", lambda x: int((x > MARK_POINTS).sum())),
                 diverged_runs=("diverged", "sum"))
            .reset_index().sort_values("mean_abs_dev_points"))


def verdict_counts(cells: pd.DataFrame) -> pd.DataFrame:
    """Per protocol: the number of cells of each verdict."""
    counts = cells.groupby("protocol", sort=False)["verdict"].value_counts().unstack(fill_value=0)
    return counts.reindex(columns=list(VERDICTS), fill_value=0).assign(cells=counts.sum(axis=1))


def write_table1(df: pd.DataFrame, csv: str, md: str, tex: str, cells_csv: str, params: dict[str, int]) -> None:
    """Table 1 for every protocol: one row per run (``csv``), one per cell with its verdict
    (``cells_csv``), the paper's layout (``md``, ``tex``) with ``params`` (``read_block_params``)."""
    df = add_paper_table1(df)
    # A record's "setting" is the protocol it ran under (the training code's name for it).
    df.drop(columns=["path"]).rename(columns={"setting": "protocol"}).to_csv(csv, index=False)
    cells = table1_cells(df)
    cells.to_csv(cells_csv, index=False, float_format="%.4f")
    frames = table1_frames(cells, params)
    dist = distance_to_paper(df).set_index("setting")
    counts = verdict_counts(cells)
    lines = ["# Table 1: test accuracy (%), nf = 4", "",
             f"Each cell: ours mean ± sd over seeds (paper's single run). Verdict per cell: match "
             f"(|ours − paper| ≤ {MARK_POINTS:g} points, no mark), consistent (° : not a match, but "
             f"the paper's run lies within our seeds' [min, max]), off (†: neither). Accuracies "
             f"from the runs' metrics.json files; per-cell numbers in table1_cells.csv.", "",
             counts.reset_index().to_markdown(index=False), ""]
    for protocol, wide in frames.items():
        d, c = dist.loc[protocol], counts.loc[protocol]
        lines += [f"## Protocol `{protocol}`", "",
                  f"{c['match']} match, {c['consistent']} consistent, {c['off']} off of "
                  f"{c['cells']} cells. Mean |ours − paper| over cells: "
                  f"{d['mean_abs_dev_points']:.2f} points (max {d['max_abs_dev_points']:.1f}); "
                  f"diverged runs: {int(d['diverged_runs'])}.", "",
                  wide.reset_index().to_markdown(index=False), ""]
    Path(md).write_text("\n".join(lines))
    Path(tex).write_text(table1_latex(frames))


def table1_latex(frames: dict[str, pd.DataFrame]) -> str:
    """Table 1's LaTeX: one table per protocol (``table1_frames``)."""
    return "\n".join(latex_table(wide, f"Table 1 replication, protocol {protocol}: test accuracy (%), "
                                       "ours mean ± sd (paper).", index_names=["data set", "layers"])
                     for protocol, wide in frames.items())


def write_experiments(table1: pd.DataFrame, experiments: pd.DataFrame, runs: dict, md: str) -> None:
    """Each experiment beside the protocol runs it changes, cell by cell: what moves a cell that
    is off the paper. ``runs`` is the config's experiments.runs (protocol, settings, cells, why)."""
    base = table1_cells(add_paper_table1(table1)).set_index(["protocol", "dataset", "depth", "arch"])
    exp = table1_cells(add_paper_table1(experiments)).set_index(["protocol", "dataset", "depth", "arch"])
    lines = ["# Table 1 experiments: what moves the cells off the paper", "",
             "Each experiment changes one setting of a protocol on chosen cells and reruns them on "
             "seeds of their own; ours mean ± sd [min, max] (verdict), test accuracy %.", ""]
    for name, run in runs.items():
        change = ", ".join(f"{k} = {v}" for k, v in run["settings"].items())
        rows = []
        for dataset, per_arch in run["cells"].items():
            for arch, depths in per_arch.items():
                for depth in depths:
                    key = (run["protocol"], dataset, depth, arch)
                    b = base.loc[key] if key in base.index else None
                    e = exp.loc[(name, dataset, depth, arch)]
                    rows.append({"data set": dataset, "layers": depth, "arch": arch, "paper": f"{e['paper']:g}",
                                 f"`{run['protocol']}`": "not run" if b is None else _fmt_range(b),
                                 f"with {change}": _fmt_range(e)})
        lines += [f"## `{name}`: protocol `{run['protocol']}` with {change}", "", run["why"], "",
                  pd.DataFrame(rows).to_markdown(index=False), ""]
    Path(md).write_text("\n".join(lines))


def _fmt_range(r) -> str:
    return f"{r['mean']:.1f} ± {r['sd']:.1f} [{r['min']:.1f}, {r['max']:.1f}] ({r['verdict']})"


def write_ablation(df: pd.DataFrame, md: str, grid_keys) -> None:
    """The ablation, a diagnostic: how far each fixed setting lies from the paper's test numbers.
    It chooses nothing (a choice by distance to test numbers would be selection on the test set)."""
    df = add_paper_table1(df)
    dist = distance_to_paper(df)
    settings = df.groupby("setting", sort=False).first()
    for k in grid_keys:
        dist[k] = dist["setting"].map(settings[f"cfg_{k}"])
    Path(md).write_text("\n".join([
        "# Table 1 ablation (diagnostic): distance of fixed settings to the paper's test numbers", "",
        f"Mean/max over the {df.groupby(['dataset', 'depth', 'arch']).ngroups} cells of |our mean "
        f"test accuracy − paper| (points), {df.groupby(['setting', 'dataset', 'depth', 'arch']).size().min()} "
        f"seeds per cell, on the ablation's own seeds. A comparison with the paper's test numbers, "
        f"so it feeds no protocol: it says which reading of the open settings lies closest to the "
        f"paper, nothing is chosen by it.", "",
        dist.to_markdown(index=False, floatfmt=".2f"), ""]))

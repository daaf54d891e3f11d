"""Tables from the runs' metrics.json files, the paper's numbers beside ours.

Nothing here trains: it reads run records, aggregates them and chooses settings.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from hdnn.blocks import ARCHS, make_block
from hdnn.runs import collect_runs, paper_values

MARK_POINTS = 2.0  # Table 1: a cell within this many points of the paper is a match (verdict)


def _paper_order(archs) -> list[str]:
    """Architectures in the paper's column order (MS1, MS2, MS3, H1, H2), whatever the run order."""
    present = set(archs)
    return [a for a in ARCHS if a in present]


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


def params_row(archs, nf: int = 4) -> dict[str, int]:
    """Parameters per layer counted from the modules themselves."""
    return {a: make_block(a, nf=nf, depth=2, h=0.1).params_per_layer() for a in archs}


def table1_frames(cells: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per protocol, the paper's layout: rows (dataset, depth), columns architectures."""
    stats = cells.assign(cell=cells.apply(_fmt_cell, axis=1))
    archs = _paper_order(cells["arch"])
    out = {}
    for setting, s in stats.groupby("protocol", sort=False):
        wide = s.pivot(index=["dataset", "depth"], columns="arch", values="cell")
        wide = wide.reindex(columns=archs)
        order = {"swiss_roll": 0, "double_moons": 1}
        wide = wide.sort_index(key=lambda idx: idx.map(order) if idx.name == "dataset" else idx)
        counts = params_row(archs)
        wide.loc[("parameters per layer", "nf = 4"), :] = [f"{counts[a]}" for a in archs]
        out[setting] = wide
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


def write_table1(df: pd.DataFrame, csv: str, md: str, tex: str, cells_csv: str,
                 missing: dict[str, str] | None = None) -> None:
    """Table 1 for every protocol present: one row per run (``csv``), one per cell with its
    verdict (``cells_csv``), the paper's layout (``md``, ``tex``). ``missing`` names protocols
    whose settings have not been chosen yet (protocol → chosen-settings file), so the table says
    so instead of hiding it."""
    df = add_paper_table1(df)
    df.drop(columns=["path"]).to_csv(csv, index=False)
    cells = table1_cells(df)
    cells.to_csv(cells_csv, index=False, float_format="%.4f")
    frames = table1_frames(cells)
    dist = distance_to_paper(df).set_index("setting")
    counts = verdict_counts(cells)
    lines = ["# Table 1: test accuracy (%), nf = 4", "",
             f"Each cell: ours mean ± sd over seeds (paper's single run). Verdict per cell: match "
             f"(|ours − paper| ≤ {MARK_POINTS:g} points, no mark), consistent (° : not a match, but "
             f"the paper's run lies within our seeds' [min, max]), off (†: neither). Accuracies "
             f"from the runs' metrics.json files; per-cell numbers in table1_cells.csv.", "",
             counts.reset_index().to_markdown(index=False), ""]
    for protocol, path in (missing or {}).items():
        lines += [f"**Protocol `{protocol}` not run yet:** its settings file `{path}` does not "
                  f"exist; the stage that writes it has not run.", ""]
    for setting, wide in frames.items():
        d, c = dist.loc[setting], counts.loc[setting]
        lines += [f"## Protocol `{setting}`", "",
                  f"{c['match']} match, {c['consistent']} consistent, {c['off']} off of "
                  f"{c['cells']} cells. Mean |ours − paper| over cells: "
                  f"{d['mean_abs_dev_points']:.2f} points (max {d['max_abs_dev_points']:.1f}); "
                  f"diverged runs: {int(d['diverged_runs'])}.", "",
                  wide.reset_index().to_markdown(index=False), ""]
    Path(md).write_text("\n".join(lines))
    Path(tex).write_text(table1_latex(frames))


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


# What pandas' LaTeX escaping leaves as Unicode, written as LaTeX (after the escaping).
LATEX_SYMBOLS = {"±": r"$\pm$", "†": r"$^\dagger$", "°": r"$^\circ$", "²": "$^2$", "—": "--"}


def _symbols(value) -> str:
    text = str(value)
    for char, tex in LATEX_SYMBOLS.items():
        text = text.replace(char, tex)
    return text


def _escaped(frame: pd.DataFrame):
    """``frame``'s Styler with cells and column labels escaped for LaTeX (``escape="latex"``:
    & % $ # _ { } ~ ^ \\), then LATEX_SYMBOLS."""
    return (frame.style.format(_symbols, escape="latex")
            .format_index(_symbols, escape="latex", axis="columns"))


def latex_table(wide: pd.DataFrame, caption: str, index_names=None, index_align: str = "l") -> str:
    """``wide`` as a booktabs LaTeX table (pandas' Styler): its index as the first columns (headed
    ``index_names``, default the index's names; aligned ``index_align``), every other column
    left-aligned. Labels, cells and the caption are plain text, all escaped the same way."""
    flat = wide.rename_axis(index_names or wide.index.names).reset_index()
    one_cell = _escaped(pd.DataFrame([[caption]])).hide(axis="index").hide(axis="columns")
    caption_tex = one_cell.to_latex().splitlines()[1].removesuffix(r" \\")
    return _escaped(flat).hide(axis="index").to_latex(
        column_format=index_align * wide.index.nlevels + "l" * len(wide.columns), hrules=True,
        caption=caption_tex, position="t", position_float="centering")


def table1_latex(frames: dict[str, pd.DataFrame]) -> str:
    """Table 1's LaTeX: one table per protocol (``table1_frames``)."""
    return "\n".join(latex_table(wide, f"Table 1 replication, protocol {protocol}: test accuracy (%), "
                                       "ours mean ± sd (paper).", index_names=["data set", "layers"])
                     for protocol, wide in frames.items())


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


def _edges(best: pd.DataFrame, grid: dict) -> list[str]:
    """Choices on the edge of a numeric grid with more than one value (widen that grid)."""
    out = []
    for key, values in grid.items():
        if len(values) < 2 or not all(isinstance(v, (int, float)) for v in values):
            continue
        for r in best.itertuples():
            v = getattr(r, key)
            if v in (min(values), max(values)):
                out.append(f"{getattr(r, 'dataset', 'mnist')} {r.arch}: {key} = {v:g} "
                           f"(grid {min(values):g}–{max(values):g})")
    return out


def tuning_runs(df: pd.DataFrame, keys, epochs) -> pd.DataFrame:
    """The search per run and number of epochs (evaluated within one run of the largest): the
    grid's ``keys``, data set, arch, depth, seed and validation accuracy in [0, 1]."""
    long = []
    for ep in sorted(epochs):
        col = "val_acc" if ep == max(epochs) else f"epoch{ep}_val_acc"
        part = df[["dataset", "arch", "depth", "seed_index"] + [f"cfg_{k}" for k in keys] + [col]]
        long.append(part.rename(columns={col: "val_acc", **{f"cfg_{k}": k for k in keys}}).assign(epochs=ep))
    return pd.concat(long, ignore_index=True)


def best_settings(long: pd.DataFrame, keys) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The search's choice (``tuning_runs`` rows): mean validation accuracy per (dataset, arch)
    and setting ``keys``, and the best setting per (dataset, arch). Ties go to the earlier entry:
    the grid's order, then fewer epochs."""
    search = (long.groupby(["dataset", "arch", *keys])["val_acc"].mean()
              .reset_index().rename(columns={"val_acc": "mean_val_acc"}))
    return search, search.loc[search.groupby(["dataset", "arch"])["mean_val_acc"].idxmax()]


def write_tuning(df: pd.DataFrame, md: str, chosen_path: str, grid: dict, epochs) -> None:
    """Per (dataset, arch): the grid setting and number of epochs of best mean validation accuracy
    over the searched depths. Choices on the edge of a numeric grid are listed."""
    keys = list(grid)
    long = tuning_runs(df, keys, epochs)
    search, best = best_settings(long, [*keys, "epochs"])
    per_cell: dict = {}
    for _, r in best.iterrows():
        per_cell.setdefault(r["dataset"], {})[r["arch"]] = {
            **{k: _plain(r[k]) for k in keys}, "epochs": int(r["epochs"])}
    edges = _edges(best, {**grid, "epochs": list(epochs)})
    Path(md).write_text("\n".join([
        "# Table 1 tuning search (validation accuracy, never the test set)", "",
        f"Mean validation accuracy over the searched depths ({', '.join(f'{d}: {sorted(map(int, g.depth.unique()))}' for d, g in df.groupby('dataset'))}) "
        f"for every ({', '.join(keys)}, epochs); the validation split is every 5th training point "
        f"and the test set is never loaded. {df.groupby(['setting', 'dataset', 'depth', 'arch']).size().min()} "
        f"seed(s) per search cell, seeds of their own.", "", "## Chosen", "",
        best.to_markdown(index=False, floatfmt=".4f"), "",
        "**Choices on the edge of a numeric grid:** " + ("; ".join(edges) if edges else "none") + ".", "",
        "## Whole search", "", search.to_markdown(index=False, floatfmt=".4f"), ""]))
    _write_chosen(chosen_path, {"per_cell": per_cell, "source": f"tuning search: {md}"})


def _plain(v):
    return v.item() if hasattr(v, "item") else v


def _write_chosen(path: str, content: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("# Written by the workflow; see `source`.\n"
                          + yaml.safe_dump(content, sort_keys=False))


# --- Table 2 (MNIST) --------------------------------------------------------------------------

TABLE2_SPLITS = ("train", "test")
TABLE2_DECIMALS = {"train": 3, "test": 2}  # the paper's precision
TABLE2_MARK_POINTS = 0.3  # MNIST accuracies sit close together: a smaller tolerance than Table 1's
BEST_EPOCH = "best_epoch_test_acc_selected_on_test"


def _epoch_columns(df: pd.DataFrame, metric: str) -> dict[int, str]:
    """Per-epoch columns of collect_runs (``epoch3_val_acc``), keyed by epoch."""
    prefix, suffix = "epoch", f"_{metric}"
    return {int(c[len(prefix):-len(suffix)]): c for c in df.columns
            if c.startswith(prefix) and c.endswith(suffix) and c[len(prefix):-len(suffix)].isdigit()}


def collect_table2_runs(paths, paper: dict | None = None) -> pd.DataFrame:
    """One row per MNIST run: final-epoch accuracies in [0, 1], the paper's beside (NaN where the
    paper has no cell), and the best epoch's test accuracy as a labelled extra, never the result.
    A run's ``column`` (default its arch) is compared with the paper's ``paper_column``."""
    df = collect_runs(paths, extra_keys=("column", "paper_column", "block_path"))
    df["column"] = df["column"].fillna(df["arch"])
    df["paper_column"] = df["paper_column"].fillna(df["arch"])
    t2 = (paper or paper_values())["table2"]
    for split in TABLE2_SPLITS:
        df[f"paper_{split}_acc"] = [t2.get(a, {}).get(int(d), {}).get(split, float("nan")) / 100
                                    for a, d in zip(df["paper_column"], df["depth"])]
    df[BEST_EPOCH] = df[list(_epoch_columns(df, "test_acc").values())].max(axis=1)
    return df.drop(columns=[c for c in df.columns if c.startswith("epoch")])


def _table2_stats(df: pd.DataFrame) -> pd.DataFrame:
    aggs = {"n": ("test_acc", "size"), "diverged": ("diverged", "sum")}
    for split in TABLE2_SPLITS:
        aggs.update({f"{split}_mean": (f"{split}_acc", "mean"), f"{split}_sd": (f"{split}_acc", "std"),
                     f"{split}_paper": (f"paper_{split}_acc", "first")})
    return df.groupby(["setting", "depth", "column"], sort=False).agg(**aggs).reset_index()


def _column_order(columns) -> list[str]:
    """The paper's architectures in its order, then the extra columns."""
    archs = _paper_order(columns)
    return archs + sorted(set(columns) - set(archs))


def _fmt_table2_cell(r, split: str) -> str:
    dec = TABLE2_DECIMALS[split]
    sd = 0.0 if pd.isna(r[f"{split}_sd"]) else r[f"{split}_sd"]
    paper = r[f"{split}_paper"]
    ref = "—" if pd.isna(paper) else f"{100 * paper:g}"
    div = f" [{int(r['diverged'])} diverged]" if r["diverged"] else ""
    mark = " †" if abs(100 * (r[f"{split}_mean"] - paper)) > TABLE2_MARK_POINTS else ""  # NaN: none
    return f"{100 * r[f'{split}_mean']:.{dec}f} ± {100 * sd:.{dec}f} ({ref}){mark}{div}"


def table2_frames(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per protocol, the paper's layout: rows depth, columns (arch, split)."""
    stats = _table2_stats(df)
    columns = [f"{c} {s}" for c in _column_order(df["column"]) for s in TABLE2_SPLITS]
    out = {}
    for setting, s in stats.groupby("setting", sort=False):
        cells = {(r["depth"], f"{r['column']} {split}"): _fmt_table2_cell(r, split)
                 for _, r in s.iterrows() for split in TABLE2_SPLITS}
        depths = sorted(s["depth"].unique())
        wide = pd.DataFrame([[cells.get((d, c), "") for c in columns] for d in depths],
                            index=pd.Index(depths, name="layers"), columns=columns)
        out[setting] = wide
    return out


def _table2_settings_line(runs: pd.DataFrame) -> str:
    """What a protocol trained with, per architecture, from the runs' own records."""
    parts = []
    per_column = runs.groupby("column").first()
    for column in _column_order(per_column.index):
        r = per_column.loc[column]
        arch = "" if r["arch"] == column else f" ({r['arch']})"
        parts.append(f"{column}{arch}: h {r['cfg_h']:g}, weight decay {r['cfg_weight_decay']:g} on "
                     f"{r.get('cfg_weight_decay_scope', 'conv_output')}, block biases "
                     f"{r.get('cfg_block_bias_init', 'zeros')}, α {r['cfg_alpha']:g}, lr "
                     f"{r['cfg_lr']:g} × {r['cfg_lr_gamma']:g} per epoch, epochs {int(r['cfg_epochs'])}")
    first = runs.iloc[0]
    subset = "all 60 000" if pd.isna(first["cfg_subset"]) else f"a subset of {int(first['cfg_subset'])}"
    test = "all 10 000" if pd.isna(first["cfg_test_subset"]) else f"{int(first['cfg_test_subset'])}"
    return "; ".join(parts) + f". Trained on {subset} training images, tested on {test} test images."


def paper_column_distance(runs: pd.DataFrame) -> pd.DataFrame:
    """Per paper column compared with by more than one of our columns (H2: H2 itself and MS1
    with H2's settings), each column's mean |ours − paper| over depths, train and test (points)."""
    cells = (runs.groupby(["paper_column", "column", "depth"])
             .agg(**{f"{s}_mean": (f"{s}_acc", "mean") for s in TABLE2_SPLITS},
                  **{f"{s}_paper": (f"paper_{s}_acc", "first") for s in TABLE2_SPLITS}).reset_index())
    for split in TABLE2_SPLITS:
        cells[f"{split}_dev"] = (cells[f"{split}_mean"] - cells[f"{split}_paper"]).abs() * 100
    dist = cells.groupby(["paper_column", "column"])[[f"{s}_dev" for s in TABLE2_SPLITS]].mean().reset_index()
    shared = dist.groupby("paper_column")["column"].transform("size") > 1
    return dist[shared].reset_index(drop=True)


def _paper_column_lines(runs: pd.DataFrame) -> list[str]:
    """Which of our columns is closer to a paper column that several of them are compared with."""
    lines = []
    for paper_col, d in paper_column_distance(runs).groupby("paper_column"):
        parts = [f"{r['column']} {r['train_dev']:.2f} (train) / {r['test_dev']:.2f} (test)"
                 for _, r in d.iterrows()]
        best = d.loc[d["test_dev"].idxmin()]
        gap = d["test_dev"].max() - best["test_dev"]
        lines += [f"Closer to the paper's {paper_col} column: **{best['column']}**, by {gap:.2f} points "
                  f"of mean |ours − paper| on test accuracy. Mean |ours − paper| over depths, points: "
                  + "; ".join(parts) + ".", ""]
    return lines


def write_table2(df: pd.DataFrame, csv: str, md: str, tex: str) -> None:
    """table2.csv (one row per run), table2.md and table2.tex (one table per protocol)."""
    df.drop(columns=["path"]).to_csv(csv, index=False)
    frames = table2_frames(df)
    lines = ["# Table 2: MNIST train / test accuracy (%)", "",
             "Each cell: ours mean ± sd over seeds (paper's single run), at the final epoch; † marks "
             f"a mean beyond {TABLE2_MARK_POINTS:g} points of the paper. The authors' code reported "
             "the epoch of best test accuracy, a selection on the test set; that number is only in "
             f"table2.csv, as `{BEST_EPOCH}`.", ""]
    for setting, wide in frames.items():
        runs = df[df["setting"] == setting]
        cell = runs.groupby(["column", "depth"])
        dev = {s: (cell[f"{s}_acc"].mean() - cell[f"paper_{s}_acc"].first()).abs() * 100
               for s in TABLE2_SPLITS}
        beyond = {s: f"{int((d > TABLE2_MARK_POINTS).sum())}/{int(d.notna().sum())}" for s, d in dev.items()}
        devices = ", ".join(f"{n} on {d}" for d, n in runs["device"].value_counts().items())
        paths = ", ".join(f"{n} {p}" for p, n in runs["block_path"].dropna().value_counts().items())
        lines += [f"## Protocol `{setting}`", "", _table2_settings_line(runs),
                  f"Seeds per cell: {int(cell.size().min())}; runs: {devices}"
                  f"{f' (block path: {paths})' if paths else ''}; "
                  f"training time {runs['wall_time_s'].sum() / 60:.0f} min in all. "
                  f"Mean |ours − paper| over cells: train {dev['train'].mean():.2f} points "
                  f"({beyond['train']} cells beyond {TABLE2_MARK_POINTS:g}), test "
                  f"{dev['test'].mean():.2f} points ({beyond['test']} beyond).", "",
                  wide.reset_index().to_markdown(index=False), "", *_paper_column_lines(runs)]
    Path(md).write_text("\n".join(lines))
    Path(tex).write_text(table2_latex(frames))


def table2_latex(frames: dict[str, pd.DataFrame]) -> str:
    """Table 2's LaTeX: one table per protocol (``table2_frames``)."""
    return "\n".join(latex_table(wide, f"Table 2 replication, protocol {protocol}: MNIST accuracy (%), "
                                       "ours mean ± sd at the final epoch (paper).", index_align="r")
                     for protocol, wide in frames.items())


def write_tuning_table2(df: pd.DataFrame, md: str, chosen_path: str, grid: dict | None = None) -> None:
    """Per architecture: the (lr, lr_gamma, epochs) of best mean validation accuracy over the
    tuning depths and seeds; epochs read off each run's per-epoch validation curve (the schedule
    does not depend on the number of epochs, so stopping at epoch e is a run of e epochs).
    ``grid`` (lr, lr_gamma lists): choices on its edges, or at the last epoch, are flagged."""
    long = pd.concat([df[["arch", "depth", "cfg_lr", "cfg_lr_gamma", col]]
                      .rename(columns={col: "val_acc"}).assign(epochs=ep)
                      for ep, col in sorted(_epoch_columns(df, "val_acc").items())])
    search = (long.groupby(["arch", "cfg_lr", "cfg_lr_gamma", "epochs"])["val_acc"].mean()
              .reset_index().rename(columns={"cfg_lr": "lr", "cfg_lr_gamma": "lr_gamma",
                                             "val_acc": "mean_val_acc"}))
    # groupby sorts its keys, so ties go to the smaller lr, smaller gamma, fewer epochs.
    best = search.loc[search.groupby("arch")["mean_val_acc"].idxmax()]
    per_arch = {r["arch"]: {"lr": float(r["lr"]), "lr_gamma": float(r["lr_gamma"]),
                            "epochs": int(r["epochs"])} for _, r in best.iterrows()}
    depths = ", ".join(str(d) for d in sorted(df["depth"].unique()))
    edges = _edges(best, {**(grid or {}), "epochs": [1, int(df["cfg_epochs"].max())]})
    edge_lines = (["On the edge of the search (widen it there): " + "; ".join(edges) + ".", ""]
                  if edges else ["No choice lies on the edge of the search.", ""])
    Path(md).write_text("\n".join([
        "# Table 2 tuning search (validation accuracy, never the test set)", "",
        f"Mean validation accuracy over depths {depths} and seeds for every (lr, lr_gamma, epochs); "
        f"the validation split is {int(df['cfg_n_val'].iloc[0])} training images (the last of a "
        "permutation fixed by base_seed), the rest trains.", "", "## Chosen", "",
        best.to_markdown(index=False, floatfmt=".4f"), "", *edge_lines, "## Whole search", "",
        search.to_markdown(index=False, floatfmt=".4f"), ""]))
    _write_chosen(chosen_path, {"per_cell": per_arch, "source": f"tuning search: {md}"})


def write_report(tables: list[str], figures: list[str], out: str, data: list[str] = (),
                 provenance: list[str] = ()) -> None:
    """The replication report: every table the workflow wrote, then the figures and the data
    files (beside the report, under figures/ and data/, copied there unless drawn there), then
    ``provenance`` (hdnn.staleness.provenance_lines). Missing inputs are named, never invented."""
    import shutil

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    parts = ["# Replication report: A unified framework for Hamiltonian deep neural networks", "",
             "Galimberti, Xu, Ferrari Trecate, L4DC 2021. Regenerated by `snakemake --cores all` "
             "from the runs' metrics.json files; do not edit by hand. How each number was made: "
             "README.md.", ""]
    for path in tables:
        text = Path(path).read_text()
        parts += [text.replace("\n# ", "\n## ").replace("# ", "## ", 1), ""]
    for kind, paths in (("figures", figures), ("data", data)):
        for path in paths:
            dst = out.parent / kind / Path(path).name
            dst.parent.mkdir(exist_ok=True)
            if Path(path).resolve() != dst.resolve():
                shutil.copyfile(path, dst)
            parts += [f"![{dst.stem}](figures/{dst.name})" if kind == "figures"
                      else f"Data: [`{kind}/{dst.name}`]({kind}/{dst.name})", ""]
    if provenance:
        parts += ["## Provenance", "", *provenance]
    out.write_text("\n".join(parts))



"""Tables from the runs' metrics.json files, the paper's numbers beside ours.

Nothing here trains: it reads run records, aggregates them and chooses settings.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from hdnn.blocks import make_block
from hdnn.provenance import read_json

PAPER_VALUES = Path(__file__).resolve().parents[2] / "config" / "paper_values.yaml"
MARK_POINTS = 2.0  # deviations beyond this many points are marked in table1.md
RUN_KEYS = ("study", "setting", "dataset", "arch", "depth", "seed_index", "seed", "diverged",
            "train_acc", "train_loss", "test_acc", "test_loss", "val_acc", "val_loss",
            "wall_time_s", "params_per_layer")


def paper_values(path: str | Path = PAPER_VALUES) -> dict:
    return yaml.safe_load(Path(path).read_text())


def collect_runs(paths) -> pd.DataFrame:
    """One row per run; accuracies in [0, 1]; settings flattened as cfg_* columns."""
    rows = []
    for p in paths:
        rec = read_json(p)
        row = {k: rec.get(k) for k in RUN_KEYS}
        row.update({f"cfg_{k}": v for k, v in rec["config"].items() if not isinstance(v, list)})
        for ep, ev in rec.get("evals", {}).items():
            row.update({f"epoch{ep}_{k}": v for k, v in ev.items()})
        row["path"] = str(p)
        rows.append(row)
    return pd.DataFrame(rows)


def add_paper_table1(df: pd.DataFrame, paper: dict | None = None) -> pd.DataFrame:
    t1 = (paper or paper_values())["table1"]
    out = df.copy()
    # A cell the paper did not run gets NaN, never a made-up value.
    out["paper_test_acc"] = [t1.get(d, {}).get(int(n), {}).get(a, float("nan")) / 100
                             for d, n, a in zip(out["dataset"], out["depth"], out["arch"])]
    return out


def _cell_stats(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby(["setting", "dataset", "depth", "arch"], sort=False)
    return g.agg(mean=("test_acc", "mean"), sd=("test_acc", "std"), n=("test_acc", "size"),
                 diverged=("diverged", "sum"), paper=("paper_test_acc", "first")).reset_index()


def _fmt_cell(r) -> str:
    mark = " †" if abs(100 * r["mean"] - r["paper"]) > MARK_POINTS else ""  # paper in %
    sd = 0.0 if pd.isna(r["sd"]) else r["sd"]
    div = f" [{int(r['diverged'])} diverged]" if r["diverged"] else ""
    return f"{100 * r['mean']:.1f} ± {100 * sd:.1f} ({r['paper']:g}){mark}{div}"


def params_row(archs, nf: int = 4) -> dict[str, int]:
    """Parameters per layer counted from the modules themselves."""
    return {a: make_block(a, nf=nf, depth=2, h=0.1).params_per_layer() for a in archs}


def table1_frames(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per setting, the paper's layout: rows (dataset, depth), columns architectures."""
    stats = _cell_stats(df)
    stats["paper"] = stats["paper"] * 100
    stats["cell"] = stats.apply(_fmt_cell, axis=1)
    archs = list(dict.fromkeys(df["arch"]))
    out = {}
    for setting, s in stats.groupby("setting", sort=False):
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


def write_table1(df: pd.DataFrame, csv: str, md: str, tex: str) -> None:
    df = add_paper_table1(df)
    df.drop(columns=["path"]).to_csv(csv, index=False)
    frames = table1_frames(df)
    dist = distance_to_paper(df).set_index("setting")
    lines = ["# Table 1: test accuracy (%), nf = 4", "",
             f"Each cell: ours mean ± sd over seeds (paper's single run); † marks a deviation "
             f"beyond {MARK_POINTS:g} points. Accuracies from the runs' metrics.json files.", ""]
    tex_parts = []
    for setting, wide in frames.items():
        d = dist.loc[setting]
        lines += [f"## Protocol `{setting}`", "",
                  f"Mean |ours − paper| over cells: {d['mean_abs_dev_points']:.2f} points "
                  f"(max {d['max_abs_dev_points']:.1f}); cells beyond {MARK_POINTS:g} points: "
                  f"{int(d['cells_beyond_2_points'])}; diverged runs: {int(d['diverged_runs'])}.", "",
                  wide.reset_index().to_markdown(index=False), ""]
        tex_parts.append(_latex(wide, setting))
    Path(md).write_text("\n".join(lines))
    Path(tex).write_text("\n\n".join(tex_parts) + "\n")


def _latex(wide: pd.DataFrame, setting: str) -> str:
    cols = list(wide.columns)
    esc = lambda s: str(s).replace("_", r"\_").replace("±", r"$\pm$").replace("†", r"$^\dagger$").replace("²", "$^2$")
    body = [" & ".join([esc(d), esc(n)] + [esc(wide.loc[(d, n), c]) for c in cols]) + r" \\"
            for d, n in wide.index]
    return "\n".join([
        r"\begin{table}[t]", r"\centering",
        rf"\caption{{Table 1 replication, protocol {esc(setting)}: test accuracy (\%), ours mean $\pm$ sd (paper).}}",
        r"\begin{tabular}{ll" + "l" * len(cols) + "}", r"\toprule",
        " & ".join(["data set", "layers"] + cols) + r" \\", r"\midrule", *body,
        r"\bottomrule", r"\end{tabular}", r"\end{table}"])


def write_ablation(df: pd.DataFrame, md: str, chosen_path: str, grid_keys) -> None:
    """Ablation table and the paper protocol: the setting closest to the paper on average."""
    df = add_paper_table1(df)
    dist = distance_to_paper(df)
    settings = df.groupby("setting", sort=False).first()
    for k in grid_keys:
        dist[k] = dist["setting"].map(settings[f"cfg_{k}"])
    best = dist.iloc[0]
    Path(md).write_text("\n".join([
        "# Table 1 ablation: distance of each fixed setting to the paper's Table 1", "",
        "Mean/max over the 40 cells of |our mean test accuracy − paper| (points), seeds per cell "
        f"as configured. Chosen as paper-protocol: `{best['setting']}`.", "",
        dist.to_markdown(index=False, floatfmt=".2f"), ""]))
    common = {k: _plain(best[k]) for k in grid_keys}
    _write_chosen(chosen_path, {"common": common, "source": f"ablation: {md}, setting {best['setting']}"})


def write_tuning(df: pd.DataFrame, md: str, chosen_path: str, common: dict, epochs) -> None:
    """Per (dataset, arch): the (T, lr, epochs) of best mean validation accuracy over depths."""
    long = []
    for ep in sorted(epochs):
        col = "val_acc" if ep == max(epochs) else f"epoch{ep}_val_acc"
        part = df[["dataset", "arch", "depth", "cfg_T", "cfg_lr", col]].rename(columns={col: "val_acc"})
        long.append(part.assign(epochs=ep))
    long = pd.concat(long)
    search = (long.groupby(["dataset", "arch", "cfg_T", "cfg_lr", "epochs"])["val_acc"].mean()
              .reset_index().rename(columns={"cfg_T": "T", "cfg_lr": "lr", "val_acc": "mean_val_acc"}))
    # Ties go to the earlier entry: smaller T, smaller lr, fewer epochs.
    best = search.loc[search.groupby(["dataset", "arch"])["mean_val_acc"].idxmax()]
    per_cell: dict = {}
    for _, r in best.iterrows():
        per_cell.setdefault(r["dataset"], {})[r["arch"]] = {
            "T": float(r["T"]), "lr": float(r["lr"]), "epochs": int(r["epochs"])}
    Path(md).write_text("\n".join([
        "# Table 1 tuning search (validation accuracy, never the test set)", "",
        "Mean validation accuracy over the data set's depths for every (T, lr, epochs); the "
        "validation split is every 5th training point.", "", "## Chosen", "",
        best.to_markdown(index=False, floatfmt=".4f"), "", "## Whole search", "",
        search.to_markdown(index=False, floatfmt=".4f"), ""]))
    _write_chosen(chosen_path, {"common": common, "per_cell": per_cell,
                                "source": f"tuning search: {md}"})


def _plain(v):
    return v.item() if hasattr(v, "item") else v


def _write_chosen(path: str, content: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("# Written by the workflow; see `source`.\n"
                          + yaml.safe_dump(content, sort_keys=False))

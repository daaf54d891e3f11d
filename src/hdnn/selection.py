"""Choosing settings: where a search's validation results become ``config/chosen/*.yaml``, for
Table 1 (``write_tuning``) and Table 2 (``write_tuning_table2``).

Every choice is made on validation data, never on the test set: the searches' runs hold out a
validation split of the training data, and nothing here reads a test accuracy.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from hdnn.runs import epoch_columns


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


def write_tuning_table2(df: pd.DataFrame, md: str, chosen_path: str, grid: dict | None = None) -> None:
    """Per architecture: the (lr, lr_gamma, epochs) of best mean validation accuracy over the
    tuning depths and seeds; epochs read off each run's per-epoch validation curve (the schedule
    does not depend on the number of epochs, so stopping at epoch e is a run of e epochs).
    ``grid`` (lr, lr_gamma lists): choices on its edges, or at the last epoch, are flagged."""
    long = pd.concat([df[["arch", "depth", "cfg_lr", "cfg_lr_gamma", col]]
                      .rename(columns={col: "val_acc"}).assign(epochs=ep)
                      for ep, col in sorted(epoch_columns(df, "val_acc").items())])
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


def _plain(v):
    return v.item() if hasattr(v, "item") else v


def _write_chosen(path: str, content: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("# Written by the workflow; see `source`.\n"
                          + yaml.safe_dump(content, sort_keys=False))

"""Figure 2's numbers: per run, kind and layer the range of ‖∂y_N/∂y_ℓ‖₂ over training, the
iteration where the loss stalls, Lemma 3's ratio on the trained weights, the paper's band beside
them (gradients_summary.csv and .md). Torch-free: it reads the runs' files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hdnn.provenance import NORMS_FILE
from hdnn.runs import collect_runs, paper_values, read_record


def stall_iteration(losses, window: int, threshold: float) -> int | None:
    """First iteration from which the loss, averaged over ``window`` iterations, moves by less
    than ``threshold`` (max − min) until the end of training; None when the loss still moved
    within the last two windows (or is not finite)."""
    losses = np.asarray(losses, dtype=float)
    if not (isinstance(window, int) and 1 <= window <= len(losses)) or not threshold > 0:
        raise ValueError(f"window={window!r}, threshold={threshold!r} is not allowed: an integer "
                         f"window in 1..{len(losses)} (the curve's length) and a threshold > 0")
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")   # iterations i..i+w−1
    spread = (np.maximum.accumulate(smooth[::-1]) - np.minimum.accumulate(smooth[::-1]))[::-1]
    stalled = np.flatnonzero(spread < threshold)
    # The condition holds on a suffix, so its first index is where the loss stopped moving.
    return None if len(stalled) == 0 or stalled[0] >= len(smooth) - window else int(stalled[0])


def figure2_paper(arch: str, depth: int, time_invariant: bool, paper: dict | None = None) -> dict:
    """The paper's Figure 2 numbers for a network (empty if the paper has no such network)."""
    for entry in (paper or paper_values())["figure2"]:
        if (entry["arch"], entry["depth"], entry["time_invariant"]) == (arch, depth, time_invariant):
            return entry
    return {}


def lemma3_ratio(eigs: pd.DataFrame) -> float:
    """max |Re λ| / max |λ| over eigenvalues with columns re, im: 0 for Lemma 3's spectrum."""
    return float(eigs["re"].abs().max() / np.hypot(eigs["re"], eigs["im"]).max())


def gradients_summary(paths, eigenvalues_csv: str | None, window: int, threshold: float,
                      paper: dict | None = None) -> pd.DataFrame:
    """One row per run, kind and tracked layer ℓ: min and max of ‖∂y_N/∂y_ℓ‖₂ over training,
    with the run's test accuracy, stall iteration and (for the eigenvalue network) Lemma 3's
    ratio on its trained weights (NaN without ``eigenvalues_csv``), and the paper's numbers (NaN
    where the paper has none)."""
    runs = collect_runs(paths).rename(columns={"setting": "network",
                                               "cfg_time_invariant": "time_invariant"})
    eigs = pd.read_csv(eigenvalues_csv) if eigenvalues_csv else None
    ratios = {} if eigs is None else {key: lemma3_ratio(g) for key, g in eigs.groupby(["network", "seed_index"])}
    frames = []
    for r in runs.itertuples():
        norms = pd.read_csv(Path(r.path).with_name(NORMS_FILE))
        stats = norms.groupby(["kind", "layer"], sort=False)["value"].agg(["min", "max"])
        ref = figure2_paper(r.arch, r.depth, r.time_invariant, paper)
        frames.append(stats.reset_index().assign(
            network=r.network, arch=r.arch, depth=r.depth, time_invariant=r.time_invariant,
            seed_index=r.seed_index, seed=r.seed, diverged=r.diverged, test_acc=r.test_acc,
            train_loss=r.train_loss,
            stall_iteration=stall_iteration(read_record(r.path)["iteration_loss"], window, threshold),
            lemma3_ratio=ratios.get((r.network, r.seed_index), np.nan),
            paper_norm_low=ref.get("norm_low", np.nan), paper_norm_high=ref.get("norm_high", np.nan),
            paper_vanishing=ref.get("vanishing", False),
            paper_test_acc=ref.get("test_acc", np.nan) / 100,
            paper_stall_iteration=ref.get("stall_iteration", np.nan)))
    front = ["network", "arch", "depth", "time_invariant", "seed_index", "seed", "kind", "layer",
             "min", "max"]
    df = pd.concat(frames, ignore_index=True)
    return df[front + [c for c in df.columns if c not in front]]


def _range(values) -> str:
    return f"{values.min():.3g} – {values.max():.3g}"


def _paper_norms(r) -> str:
    if not pd.isna(r["paper_norm_low"]):
        return f"[{r['paper_norm_low']:g}, {r['paper_norm_high']:g}]"
    return "→ 0" if r["paper_vanishing"] else "—"


def _in_band(g: pd.DataFrame) -> str:
    low, high = g["paper_norm_low"].iloc[0], g["paper_norm_high"].iloc[0]
    if pd.isna(low):
        return "—"
    out = [f"below ({g['min'].min():.3g})"] if g["min"].min() < low else []
    out += [f"above ({g['max'].max():.3g})"] if g["max"].max() > high else []
    return "no: " + ", ".join(out) if out else "yes"


def _summary_row(g: pd.DataFrame) -> dict:
    """One markdown row from a network's (or a run's) rows of the plotted layers."""
    first = g.iloc[0]
    by_kind = {kind: k for kind, k in g.groupby("kind")}
    runs = g.drop_duplicates("seed_index")
    stalls = ", ".join("—" if pd.isna(s) else str(int(s)) for s in runs["stall_iteration"])
    paper_acc = "" if pd.isna(first["paper_test_acc"]) else f" ({100 * first['paper_test_acc']:g})"
    paper_stall = "" if pd.isna(first["paper_stall_iteration"]) else f" (≈ {first['paper_stall_iteration']:g})"
    row = {"network": first["network"], "layers": int(first["depth"]),
           "ℓ": ", ".join(str(l) for l in sorted(g["layer"].unique()))}
    if "mean_jacobian" in by_kind:
        row["‖batch-mean Jacobian‖: min – max"] = _range(pd.concat(
            [by_kind["mean_jacobian"]["min"], by_kind["mean_jacobian"]["max"]]))
    if "per_sample_median" in by_kind:
        row["per-sample median: min – max"] = _range(pd.concat(
            [by_kind["per_sample_median"]["min"], by_kind["per_sample_median"]["max"]]))
    if "per_sample_max" in by_kind:
        row["per-sample max: max"] = f"{by_kind['per_sample_max']['max'].max():.3g}"
    mean_rows = by_kind.get("mean_jacobian", g)
    row.update({"paper": _paper_norms(first), "within the paper's band": _in_band(mean_rows),
                "test acc. % (paper)": f"{100 * runs['test_acc'].mean():.1f}{paper_acc}",
                "final train loss": f"{runs['train_loss'].mean():.3f}",
                "stall iteration (paper)": stalls + paper_stall,
                "max \\|Re λ\\| / max \\|λ\\|": "—" if runs["lemma3_ratio"].isna().all()
                else f"{runs['lemma3_ratio'].max():.1e}"})
    return row


def gradients_over_seeds(df: pd.DataFrame, layers) -> pd.DataFrame:
    """One row per network over its seeds, at the plotted layers ℓ (gradients_summary's rows)."""
    plotted = df[df["layer"].isin(layers)]
    return pd.DataFrame([_summary_row(plotted[plotted["network"] == n])
                         for n in dict.fromkeys(plotted["network"])])


def write_gradients_summary(df: pd.DataFrame, csv: str, md: str, layers, window: int,
                            threshold: float) -> None:
    """gradients_summary.csv (every tracked layer) and .md (the plotted layers ℓ), per network
    over its seeds and per seed."""
    df.to_csv(csv, index=False)
    plotted = df[df["layer"].isin(layers)]
    networks = list(dict.fromkeys(plotted["network"]))
    over_seeds = gradients_over_seeds(df, layers)
    per_seed = [{**_summary_row(g), "seed": s} for n in networks
                for s, g in plotted[plotted["network"] == n].groupby("seed_index")]
    n_seeds = plotted.groupby("network")["seed_index"].nunique().min()
    Path(md).write_text("\n".join([
        "# Figure 2: gradient norms ‖∂y_N/∂y_ℓ‖₂ during training", "",
        f"Min and max over every training iteration and the layers ℓ shown (y_ℓ is the state "
        f"after ℓ layers, y_0 the input), the paper's bounds beside ours. Batch-mean Jacobian: "
        f"the spectral norm of the Jacobian averaged over the minibatch (the authors' "
        f"definition); per-sample: the median and max over the minibatch of each sample's norm. "
        f"Test accuracy and final train loss (cross-entropy on the training set): mean over "
        f"seeds. Stall iteration: the first iteration after which the minibatch loss, averaged over "
        f"{window} iterations, moves by less than {threshold:g} until the end (— never), per seed; "
        f"at chance-level loss (log 2 ≈ 0.693) it means training stopped, at a low loss that it "
        f"converged. Last column: Lemma 3 on the trained weights, eigenvalues of "
        f"Kᵀ D(y) K Jᵀ at the test points (0: purely imaginary).", "",
        f"## Over seeds ({n_seeds} per network)", "",
        over_seeds.to_markdown(index=False), "",
        "## Per seed", "", pd.DataFrame(per_seed).to_markdown(index=False), ""]))

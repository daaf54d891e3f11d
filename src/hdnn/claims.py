"""The paper's claims, each a check computed from the aggregated data, with its numbers and a
verdict: holds, partly, does not hold, or pending (no data yet).

Every function takes frames of paper/data/*.csv and returns a ``Claim``; none reads a file.
Accuracy frames have one row per run: ``protocol``, the cell's keys, ``arch`` and accuracies in
[0, 1] (as the table rules write them). The paper's own numbers go through the same check
(``paper_table1_runs``, ``paper_table2_runs``: one run per cell), so each verdict on our runs
sits beside what the paper's table itself shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hdnn.reporting import MARK_POINTS, TABLE2_MARK_POINTS, paper_values

HOLDS, PARTLY, FAILS, PENDING = "holds", "partly", "does not hold", "pending"
H_ARCHS, MS_ARCHS = ("H1", "H2"), ("MS1", "MS2", "MS3")
PAPER_ROWS = "paper's own numbers"  # the protocol label of the paper's single runs
NOISE_SE = 2.0       # a difference within 2 standard errors of the difference of two means is noise
BAND_FACTOR = 2.0    # Figure 2: norms within this factor of the paper's band are the same order (partly)
VANISHED = 1e-3      # a Jacobian norm below this has vanished
CHANCE_POINTS = 5.0  # "stays near 50%": within this many points of chance
LEMMA3_TOL = 1e-6    # max |Re λ| / max |λ| below this: purely imaginary up to rounding


@dataclass
class Claim:
    title: str
    paper: str       # what the paper says, and where
    check: str       # how it is checked here
    verdict: str
    summary: str     # the numbers behind the verdict, in a sentence
    table: pd.DataFrame = field(default_factory=pd.DataFrame)


def by_fraction(ok: int, total: int) -> str:
    """holds in every case, partly in at least half, does not hold otherwise."""
    if total == 0:
        return PENDING
    return HOLDS if ok == total else PARTLY if 2 * ok >= total else FAILS


def overall(verdicts) -> str:
    """One verdict from several (per protocol, per network): pending ones do not count."""
    found = set(verdicts) - {PENDING}
    return PENDING if not found else found.pop() if len(found) == 1 else PARTLY


def paper_table1_runs(paper: dict | None = None) -> pd.DataFrame:
    t1 = (paper or paper_values())["table1"]
    return pd.DataFrame([{"protocol": PAPER_ROWS, "dataset": d, "depth": n, "arch": a, "seed_index": 0,
                          "test_acc": acc / 100}
                         for d, per_depth in t1.items() if d != "params_per_layer"
                         for n, per_arch in per_depth.items() for a, acc in per_arch.items()])


def paper_table2_runs(paper: dict | None = None) -> pd.DataFrame:
    t2 = (paper or paper_values())["table2"]
    return pd.DataFrame([{"protocol": PAPER_ROWS, "arch": a, "depth": d, "seed_index": 0,
                          "train_acc": v["train"] / 100, "test_acc": v["test"] / 100}
                         for a, per_depth in t2.items() for d, v in per_depth.items()])


def _arch_stats(cell: pd.DataFrame, value: str = "test_acc") -> pd.DataFrame:
    """Per arch: mean, sd (0 for one run) and n, in percent."""
    st = cell.groupby("arch")[value].agg(mean="mean", sd="std", n="size")
    st[["mean", "sd"]] *= 100
    return st.fillna({"sd": 0.0})


def _noise(a, b, floor: float) -> float:
    """NOISE_SE standard errors of the difference of two means, at least ``floor`` points."""
    return max(NOISE_SE * float(np.sqrt(a["sd"] ** 2 / a["n"] + b["sd"] ** 2 / b["n"])), floor)


def _seed_wins(a: pd.Series, b: pd.Series) -> float:
    """Fraction of (seed of a, seed of b) pairs in which a's accuracy is higher, ties half.
    Seeds are not shared across architectures (each run draws its own data under its own seed),
    so every pair counts, not the pairs of equal seed index."""
    diff = a.to_numpy()[:, None] - b.to_numpy()[None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


def _per_protocol(table: pd.DataFrame, ok: str, ours: list[str]) -> tuple[str, str]:
    """Verdict over our protocols and a sentence with each protocol's count (the paper's too)."""
    parts, verdicts = [], []
    for protocol, t in table.groupby("protocol", sort=False):
        v = by_fraction(int(t[ok].sum()), len(t))
        parts.append(f"{protocol}: {int(t[ok].sum())}/{len(t)} ({v})")
        if protocol in ours:
            verdicts.append(v)
    return overall(verdicts), "; ".join(parts)


def _with_paper(runs: pd.DataFrame, paper_runs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    ours = list(dict.fromkeys(runs["protocol"]))
    return pd.concat([paper_runs, runs], ignore_index=True), ours


def h_at_least_ms(runs: pd.DataFrame, paper: dict | None = None) -> Claim:
    """Table 1: per (protocol, data set, depth), the best H mean against the best MS mean."""
    both, ours = _with_paper(runs, paper_table1_runs(paper))
    rows = []
    for (protocol, dataset, depth), cell in both.groupby(["protocol", "dataset", "depth"], sort=False):
        st = _arch_stats(cell)
        h, ms = st.loc[st.index.intersection(H_ARCHS)], st.loc[st.index.intersection(MS_ARCHS)]
        if h.empty or ms.empty:
            continue
        bh, bm = h["mean"].idxmax(), ms["mean"].idxmax()
        diff, noise = st.loc[bh, "mean"] - st.loc[bm, "mean"], _noise(st.loc[bh], st.loc[bm], MARK_POINTS)
        rows.append({"protocol": protocol, "data set": dataset, "layers": int(depth),
                     "best H": f"{bh} {st.loc[bh, 'mean']:.1f}", "best MS": f"{bm} {st.loc[bm, 'mean']:.1f}",
                     "H − MS": round(diff, 2), "noise": round(noise, 2),
                     "P(H seed > MS seed)": round(_seed_wins(cell.loc[cell.arch == bh, "test_acc"],
                                                             cell.loc[cell.arch == bm, "test_acc"]), 2),
                     "H ≥ MS − noise": bool(diff >= -noise)})
    table = pd.DataFrame(rows)
    verdict, counts = _per_protocol(table, "H ≥ MS − noise", ours) if rows else (PENDING, "no runs")
    wins = {} if not rows else (table[table.protocol.isin(ours)]
                                .groupby("protocol", sort=False)["P(H seed > MS seed)"].mean())
    return Claim(
        "H-DNNs are at least as accurate as MS-DNNs at equal depth (Table 1)",
        "Section 4.1: \"for a fixed number of layers, the performances of H1-DNN and H2-DNN are "
        "similar or better compared to the other networks\".",
        f"Per protocol and (data set, layers): the best of H1, H2 against the best of MS1–MS3 "
        f"(mean test accuracy over seeds); the cell holds when H − MS ≥ −noise, noise = "
        f"{NOISE_SE:g} standard errors of the difference, at least {MARK_POINTS:g} points (Table "
        f"1's match tolerance). P(H seed > MS seed): over all pairs of a seed of the best H and a "
        f"seed of the best MS (seeds draw their own data, so no pairing by seed index). Verdict "
        f"per protocol: every cell holds, at least half (partly), fewer.",
        verdict,
        f"Cells that hold: {counts}. Mean P(H seed > MS seed): "
        + ", ".join(f"{p} {w:.2f}" for p, w in dict(wins).items()) + ".",
        table)


def same_parameters_alike(runs: pd.DataFrame, paper: dict | None = None) -> Claim:
    """Table 1: H1 and H2 (both nf² + nf parameters per layer) per (protocol, data set, depth)."""
    pv = paper or paper_values()
    counts = pv["table1"]["params_per_layer"]
    both, ours = _with_paper(runs, paper_table1_runs(pv))
    rows = []
    for (protocol, dataset, depth), cell in both.groupby(["protocol", "dataset", "depth"], sort=False):
        st = _arch_stats(cell)
        if not {"H1", "H2"} <= set(st.index):
            continue
        diff, noise = st.loc["H1", "mean"] - st.loc["H2", "mean"], _noise(st.loc["H1"], st.loc["H2"], MARK_POINTS)
        rows.append({"protocol": protocol, "data set": dataset, "layers": int(depth),
                     "H1": round(st.loc["H1", "mean"], 1), "H2": round(st.loc["H2", "mean"], 1),
                     "H1 − H2": round(diff, 2), "noise": round(noise, 2), "alike": bool(abs(diff) <= noise)})
    table = pd.DataFrame(rows)
    verdict, line = _per_protocol(table, "alike", ours) if rows else (PENDING, "no runs")
    return Claim(
        "Networks with the same number of parameters perform alike (Table 1)",
        f"Section 4.1: \"networks with same number of parameters have similar performance\"; "
        f"Table 1's last row gives H1 {counts['H1']} and H2 {counts['H2']} per layer, the only "
        f"pair with equal counts (MS1 {counts['MS1']}, MS2 {counts['MS2']}, MS3 {counts['MS3']}).",
        f"Per protocol and (data set, layers): |H1 − H2| (mean test accuracy) ≤ noise, noise as "
        f"above ({NOISE_SE:g} standard errors, at least {MARK_POINTS:g} points).",
        verdict, f"Cells alike: {line}.", table)


def _by_column(runs: pd.DataFrame) -> pd.DataFrame:
    """Table 2 runs labelled by their column, so MS1 trained with H2's settings is not MS1."""
    return runs.assign(arch=runs["column"]) if "column" in runs else runs


def mnist_depth(runs: pd.DataFrame | None, paper: dict | None = None) -> Claim:
    """Table 2: test accuracy grows with depth, per protocol and architecture."""
    title = "MNIST test accuracy grows with depth (Table 2)"
    quote = ("Section 4.2: \"the test errors are reduced when incrementing the number of layers\".")
    how = (f"Per protocol and architecture, the mean test accuracy at each depth: it holds when "
           f"the deepest network beats depth 0 by more than the noise and no step to the next "
           f"depth loses more than the noise (noise: {NOISE_SE:g} standard errors of the "
           f"difference, at least {TABLE2_MARK_POINTS:g} points, Table 2's tolerance); partly when "
           f"only the first holds.")
    if runs is None or runs.empty:
        return Claim(title, quote, how, PENDING, "Pending: no Table 2 runs in paper/data (table2_runs.csv).")
    both, ours = _with_paper(_by_column(runs), paper_table2_runs(paper))
    rows = []
    for (protocol, arch), g in both.groupby(["protocol", "arch"], sort=False):
        st = g.groupby("depth")["test_acc"].agg(mean="mean", sd="std", n="size").sort_index()
        st[["mean", "sd"]] *= 100
        st = st.fillna({"sd": 0.0})
        depths = list(st.index)
        steps = [st.loc[b, "mean"] - st.loc[a, "mean"] for a, b in zip(depths, depths[1:])]
        drops = [f"{a}→{b} {s:+.2f}" for a, b, s in zip(depths, depths[1:], steps)
                 if s < -_noise(st.loc[a], st.loc[b], TABLE2_MARK_POINTS)]
        gain = st.loc[depths[-1], "mean"] - st.loc[depths[0], "mean"]
        grows = gain > _noise(st.loc[depths[0]], st.loc[depths[-1]], TABLE2_MARK_POINTS)
        rows.append({"protocol": protocol, "arch": arch,
                     "test acc. by depth": ", ".join(f"{d}: {m:.2f}" for d, m in st["mean"].items()),
                     "gain, first → last depth": round(gain, 2),
                     "drops beyond noise": ", ".join(drops) or "none",
                     "verdict": HOLDS if grows and not drops else PARTLY if grows else FAILS})
    table = pd.DataFrame(rows)
    verdict = overall(table.loc[table.protocol.isin(ours), "verdict"])
    return Claim(title, quote, how, verdict,
                 "; ".join(f"{r['protocol']} {r['arch']}: {r['verdict']}" for _, r in table.iterrows()) + ".",
                 table)


def mnist_ms1_h2_alike(runs: pd.DataFrame | None, paper: dict | None = None) -> Claim:
    """Table 2: MS1 and H2 alike at every depth, per protocol."""
    title = "MS1 and H2 perform alike on MNIST (Table 2)"
    quote = "Section 4.2: \"both network structures achieve similar performance\"."
    how = (f"Per protocol and depth: |MS1 − H2| (mean test accuracy) ≤ noise ({NOISE_SE:g} "
           f"standard errors of the difference, at least {TABLE2_MARK_POINTS:g} points).")
    if runs is None or runs.empty:
        return Claim(title, quote, how, PENDING, "Pending: no Table 2 runs in paper/data (table2_runs.csv).")
    both, ours = _with_paper(_by_column(runs), paper_table2_runs(paper))
    rows = []
    for (protocol, depth), cell in both.groupby(["protocol", "depth"], sort=False):
        st = _arch_stats(cell)
        if not {"MS1", "H2"} <= set(st.index):
            continue
        diff, noise = st.loc["MS1", "mean"] - st.loc["H2", "mean"], _noise(st.loc["MS1"], st.loc["H2"], TABLE2_MARK_POINTS)
        rows.append({"protocol": protocol, "layers": int(depth), "MS1": round(st.loc["MS1", "mean"], 2),
                     "H2": round(st.loc["H2", "mean"], 2), "MS1 − H2": round(diff, 2),
                     "noise": round(noise, 2), "alike": bool(abs(diff) <= noise)})
    table = pd.DataFrame(rows)
    verdict, line = _per_protocol(table, "alike", ours) if rows else (PENDING, "no runs")
    return Claim(title, quote, how, verdict, f"Depths alike: {line}.", table)


def _plotted(grads: pd.DataFrame, layers) -> pd.DataFrame:
    """The batch-mean Jacobian's norms (the authors' definition) at the plotted layers ℓ."""
    return grads[(grads["kind"] == "mean_jacobian") & grads["layer"].isin(layers)]


def h1_gradients_bounded(grads: pd.DataFrame | None, layers) -> Claim:
    """Figure 2: per network with a paper band, every seed's min and max over training."""
    title = "H1's gradient norms stay bounded and away from zero during training (Figure 2)"
    quote = ("Section 4.3: for the 64-layer H1-DNN, time-varying and time-invariant, the norms "
             "‖∂y_N/∂y_ℓ‖ \"are bounded in the intervals [1, 17] and [1, 37] during the whole training\".")
    how = (f"Per network and seed: min and max over the training iterations of the batch-mean "
           f"Jacobian's norm at the plotted ℓ = {', '.join(map(str, layers))}. Holds when every seed "
           f"lies in the paper's band; partly when every seed lies within a factor {BAND_FACTOR:g} of "
           f"it (bounded, away from zero, the band's order); does not hold otherwise.")
    if grads is None or grads.empty:
        return Claim(title, quote, how, PENDING, "Pending: no gradients_summary.csv in paper/data.")
    banded = _plotted(grads[grads["paper_norm_low"].notna()], layers)
    rows = []
    for (network, seed), g in banded.groupby(["network", "seed_index"], sort=False):
        low, high = g["paper_norm_low"].iloc[0], g["paper_norm_high"].iloc[0]
        lo, hi = g["min"].min(), g["max"].max()
        rows.append({"network": network, "layers": int(g["depth"].iloc[0]), "seed": int(seed),
                     "min": round(lo, 3), "max": round(hi, 2), "paper": f"[{low:g}, {high:g}]",
                     "in band": bool(low <= lo and hi <= high),
                     "within ×2": bool(low / BAND_FACTOR <= lo and hi <= BAND_FACTOR * high)})
    table = pd.DataFrame(rows)
    if table.empty:
        return Claim(title, quote, how, PENDING, "Pending: no network the paper gives a band for "
                     "(arch, depth, time invariance) in gradients_summary.csv.")
    verdicts = []
    for network, t in table.groupby("network", sort=False):
        verdicts.append(HOLDS if t["in band"].all() else PARTLY if t["within ×2"].all() else FAILS)
    per = table.groupby("network", sort=False).agg(low=("min", "min"), high=("max", "max"),
                                                   inside=("in band", "sum"), n=("seed", "size"))
    return Claim(title, quote, how, overall(verdicts),
                 "; ".join(f"{n}: {r['low']:.3g} – {r['high']:.3g} over seeds, {int(r['inside'])}/"
                           f"{int(r['n'])} seeds inside the paper's band ({v})"
                           for (n, r), v in zip(per.iterrows(), verdicts)) + ".", table)


def fc_vanishes(grads: pd.DataFrame | None, layers) -> Claim:
    """Figure 2: the fully connected network's norms vanish and it stays at chance."""
    title = "The 32-layer fully connected net's gradients vanish and it stays near 50% (Figure 2)"
    quote = ("Section 4.3: for the 32-layer FCNN \"gradient norms quickly tend to zero\", \"the "
             "training stops in approximately 200 iterations and the final test accuracy is only 50%\".")
    how = (f"Per seed: the batch-mean Jacobian's norm at the first plotted ℓ = {min(layers)} falls "
           f"below {VANISHED:g} during training, and the test accuracy lies within "
           f"{CHANCE_POINTS:g} points of 50%. Holds when both hold for every seed, partly when one "
           f"does. The stall iteration (the loss stops moving) is shown beside the paper's.")
    if grads is None or grads.empty:
        return Claim(title, quote, how, PENDING, "Pending: no gradients_summary.csv in paper/data.")
    fc = grads[(grads["paper_vanishing"] == True) & (grads["kind"] == "mean_jacobian")  # noqa: E712
               & (grads["layer"] == min(layers))]
    rows = [{"network": r["network"], "layers": int(r["depth"]), "seed": int(r["seed_index"]),
             f"‖∂y_N/∂y_{min(layers)}‖ min": f"{r['min']:.2g}", "max": f"{r['max']:.2g}",
             "vanished": bool(r["min"] < VANISHED), "test acc. %": round(100 * r["test_acc"], 1),
             "near 50%": bool(abs(100 * r["test_acc"] - 50) <= CHANCE_POINTS),
             "stall iteration (paper)": f"{r['stall_iteration']:g} ({r['paper_stall_iteration']:g})"}
            for _, r in fc.iterrows()]
    table = pd.DataFrame(rows)
    if table.empty:
        return Claim(title, quote, how, PENDING, "Pending: no vanishing-gradient network in the data.")
    vanished, chance = table["vanished"].all(), table["near 50%"].all()
    verdict = HOLDS if vanished and chance else PARTLY if vanished or chance else FAILS
    return Claim(title, quote, how, verdict,
                 f"Vanished in {int(table['vanished'].sum())}/{len(table)} seeds, near 50% in "
                 f"{int(table['near 50%'].sum())}/{len(table)} (test accuracy "
                 f"{table['test acc. %'].min():.1f}–{table['test acc. %'].max():.1f}%); stall "
                 f"iterations {', '.join(table['stall iteration (paper)'])}.", table)


def lemma3_on_trained_weights(grads: pd.DataFrame | None) -> Claim:
    """Lemma 3: the eigenvalues of Kᵀ D(y) K Jᵀ of a trained time-invariant network."""
    title = "Lemma 3 on trained weights: the eigenvalues are purely imaginary"
    quote = ("Section 3.4, Lemma 3: for a time-invariant H-DNN the Jacobian of the vector field, "
             "Kᵀ D(y) K Jᵀ, has purely imaginary eigenvalues.")
    how = (f"Per seed of the time-invariant network, at every test point: max |Re λ| / max |λ| "
           f"over the eigenvalues; holds when every seed's ratio is below {LEMMA3_TOL:g}.")
    rows = [] if grads is None else (grads[grads["lemma3_ratio"].notna()]
                                     .drop_duplicates(["network", "seed_index"]))
    if len(rows) == 0:
        return Claim(title, quote, how, PENDING, "Pending: no Lemma 3 ratios in gradients_summary.csv.")
    table = pd.DataFrame({"network": rows["network"], "seed": rows["seed_index"].astype(int),
                          "max |Re λ| / max |λ|": [f"{v:.1e}" for v in rows["lemma3_ratio"]]})
    worst = rows["lemma3_ratio"].max()
    return Claim(title, quote, how, HOLDS if worst < LEMMA3_TOL else FAILS,
                 f"Largest ratio over {len(rows)} seeds: {worst:.1e}.", table)


def all_claims(table1_runs, gradients, table2_runs, layers, paper: dict | None = None) -> list[Claim]:
    """Every claim, in the report's order; None (or an empty frame) where data are missing."""
    return [h_at_least_ms(table1_runs, paper), same_parameters_alike(table1_runs, paper),
            mnist_depth(table2_runs, paper), mnist_ms1_h2_alike(table2_runs, paper),
            h1_gradients_bounded(gradients, layers), fc_vanishes(gradients, layers),
            lemma3_on_trained_weights(gradients)]

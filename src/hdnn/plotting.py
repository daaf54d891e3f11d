"""Figures, drawn from CSV files alone (paper/data/ for the paper's figures; hdnn.figure_data
computes them from the runs). No torch here: restyling a figure rereads a CSV and never loads or
retrains a network."""

from __future__ import annotations

import functools

import matplotlib

matplotlib.use("Agg")
import matplotlib.ticker  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from hdnn.figure2 import lemma3_ratio  # noqa: E402
from hdnn.runs import paper_values  # noqa: E402

TITLES = {"swiss_roll": "Swiss roll", "double_moons": "Double moons"}


def _isolated(draw):
    """Draw from matplotlib's defaults and leave no style behind (seaborn's themes are global):
    a figure looks the same whatever was drawn before it in the process."""
    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with matplotlib.rc_context():
            matplotlib.rcdefaults()
            return draw(*args, **kwargs)
    return wrapper


def _save(fig, png: str, pdf: str | None = None, dpi: int = 130) -> None:
    """Write the figure (PNG, and PDF when asked) and free it."""
    fig.savefig(png, dpi=dpi)
    if pdf is not None:
        fig.savefig(pdf, metadata={"CreationDate": None})  # the same figure, the same bytes
    plt.close(fig)


@_isolated
def plot_dataset(x: np.ndarray, y: np.ndarray, name: str, path: str) -> None:
    """A data set's training points (x: (n, 2), y: labels)."""
    sns.set_theme(style="white")
    fig, ax = plt.subplots(figsize=(4, 4))
    sns.scatterplot(x=x[:, 0], y=x[:, 1], hue=y, s=4, palette="coolwarm", linewidth=0, ax=ax)
    ax.set(title=f"{TITLES[name]}: training set ({len(y)} points)")
    fig.tight_layout()
    _save(fig, path, dpi=120)


CLASS_COLORS = {"region": ("#9ecae1", "#fdae6b"), "point": ("#08519c", "#d94801")}


@_isolated
def plot_figure1(csv_paths, protocol: str, png: str, pdf: str) -> None:
    """Figure 1: decision regions with the labelled test points, one panel per data set; the
    paper's test accuracy for the cell beside ours."""
    sns.set_theme(style="white")
    table1 = paper_values()["table1"]
    frames = [pd.read_csv(p) for p in csv_paths]
    fig, axes = plt.subplots(1, len(frames), figsize=(5.5 * len(frames), 5.0), squeeze=False)
    for ax, df in zip(axes[0], frames):
        grid, test = df[df.kind == "grid"], df[df.kind == "test"]
        n = int(round(np.sqrt(len(grid))))
        ax.contourf(grid.x.to_numpy().reshape(n, n), grid.y.to_numpy().reshape(n, n),
                    grid.value.to_numpy().reshape(n, n), levels=[0, 0.5, 1],
                    colors=CLASS_COLORS["region"], alpha=0.6)
        for label in (0, 1):
            pts = test[test.value == label]
            ax.scatter(pts.x, pts.y, s=5, linewidth=0, color=CLASS_COLORS["point"][label])
        row = df.iloc[0]
        paper = table1.get(row.dataset, {}).get(int(row.depth), {}).get(row.arch)
        paper_text = f", paper {paper:g}%" if paper is not None else ", not in the paper"
        ax.set_title(f"{TITLES[row.dataset]}: {row.arch}, {int(row.depth)} layers, T = {row['T']:g}\n"
                     f"test accuracy {100 * test.correct.mean():.1f}% (seed 0){paper_text}", fontsize=10)
        ax.set(xlabel="$x_1$", ylabel="$x_2$")
    handles = [plt.Rectangle((0, 0), 1, 1, color=CLASS_COLORS["region"][c], alpha=0.6) for c in (0, 1)]
    handles += [plt.Line2D([], [], lw=0, marker="o", markersize=4, color=CLASS_COLORS["point"][c]) for c in (0, 1)]
    fig.legend(handles, ["predicted class 0", "predicted class 1", "test point, class 0", "test point, class 1"],
               loc="lower center", ncol=4, frameon=False, fontsize=8)
    fig.suptitle(f"Figure 1: decision regions, protocol {protocol}", fontsize=11)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    _save(fig, png, pdf, dpi=150)


# -- Figure 2: gradient norms during training, and Lemma 3 on trained weights ----------------------

_NORM = r"\|\partial y_N/\partial y_\ell\|_2"
KIND_LABELS = {"mean_jacobian": rf"batch-mean Jacobian: ${_NORM}$",
               "per_sample_median": rf"median over samples of ${_NORM}$",
               "per_sample_max": rf"max over samples of ${_NORM}$"}


@_isolated
def plot_figure2(csv: str, protocol: str, png: str, pdf: str) -> None:
    """Figure 2: norm vs iteration, one column per network, one row per kind of norm, one line
    per layer ℓ, the paper's band shaded. Every panel on a log scale: the norms span orders of
    magnitude between networks (vanishing for FC), and one scale lets rows be compared."""
    sns.set_theme(style="whitegrid")
    df = pd.read_csv(csv)
    networks = list(dict.fromkeys(df["network"]))
    kinds = [k for k in KIND_LABELS if k in set(df["kind"])]
    layers = sorted(df["layer"].unique())
    palette = dict(zip(layers, sns.color_palette("viridis", len(layers))))
    fig, axes = plt.subplots(len(kinds), len(networks), figsize=(3.0 * len(networks), 2.6 * len(kinds) + 1.2),
                             sharex=True, squeeze=False)
    band = None
    for col, network in enumerate(networks):
        net = df[df["network"] == network]
        first = net.iloc[0]
        for row, kind in enumerate(kinds):
            ax = axes[row, col]
            for layer, g in net[net["kind"] == kind].groupby("layer"):
                ax.plot(g["iteration"], g["value"], color=palette[layer], lw=0.8)
            if not pd.isna(first["paper_norm_low"]) and kind == "mean_jacobian":
                band = ax.axhspan(first["paper_norm_low"], first["paper_norm_high"], color="0.5", alpha=0.2)
            ax.set_yscale("log")
            low, high = ax.get_ylim()
            if high < 10 * low:   # under a decade: label 2, 3, 5 (one decade label would be all)
                ax.yaxis.set_minor_locator(matplotlib.ticker.LogLocator(subs=(2, 3, 5)))
                ax.yaxis.set_minor_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
            else:                 # decades only
                ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.tick_params(which="both", labelsize=8)
            if row == 0:
                variant = "time-invariant" if first["time_invariant"] else "time-varying"
                ax.set_title(f"{network}: {int(first['depth'])} layers, {variant}\n"
                             f"test acc. {100 * first['test_acc']:.1f}%", fontsize=10)
            if col == 0:
                ax.set_ylabel(KIND_LABELS[kind], fontsize=9)
            if row == len(kinds) - 1:
                ax.set_xlabel("iteration", fontsize=9)
    handles = [plt.Line2D([], [], color=palette[l], lw=1.5) for l in layers]
    labels = [f"ℓ = {l}" for l in layers]
    if band is not None:
        handles.append(plt.Rectangle((0, 0), 1, 1, color="0.5", alpha=0.2))
        labels.append("the paper's range (batch-mean Jacobian)")
    fig.legend(handles, labels, loc="lower center", ncol=len(handles), frameon=False, fontsize=9)
    fig.suptitle(f"Figure 2: gradient norms during training, log scale (double moons, protocol {protocol}, "
                 f"seed {int(df['seed_index'].iloc[0])})", fontsize=12)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    _save(fig, png, pdf, dpi=130)


@_isolated
def plot_eigenvalues(csv: str, png: str, pdf: str) -> None:
    """The spectrum at the test points in the complex plane (one seed), and |Re λ| / max |λ|."""
    sns.set_theme(style="whitegrid")
    df = pd.read_csv(csv)
    one = df[df["seed_index"] == df["seed_index"].min()]
    scale = np.hypot(one["re"], one["im"]).max()
    fig, (ax, hist) = plt.subplots(1, 2, figsize=(9, 4))
    sns.scatterplot(data=one, x="re", y="im", s=6, linewidth=0, alpha=0.5, ax=ax)
    ax.set(xlim=(-1.1 * scale, 1.1 * scale), ylim=(-1.1 * scale, 1.1 * scale), aspect="equal",
           xlabel="Re λ", ylabel="Im λ",
           title=f"{one['network'].iloc[0]}, seed {int(one['seed_index'].iloc[0])}: "
                 f"{one['point'].nunique()} test points")
    largest = np.hypot(df["re"], df["im"]).groupby(df["seed_index"]).transform("max")
    rel = (df["re"].abs() / largest).clip(lower=1e-18)
    sns.histplot(x=np.log10(rel), hue=df["seed_index"].astype(str).rename("seed"), ax=hist,
                 element="step", bins=40)
    hist.set(xlabel="log₁₀ |Re λ| / max |λ| (floor 1e-18)",
             title=f"max |Re λ| / max |λ| ≤ "
                   f"{max(lemma3_ratio(g) for _, g in df.groupby('seed_index')):.1e} (every seed)")
    fig.tight_layout()
    _save(fig, png, pdf, dpi=130)


@_isolated
def plot_calibration_ranks(csv: str, png: str, pdf: str) -> None:
    """Per table and protocol, a histogram of the paper's run's rank among our seeds (0: below
    every seed, 1: above every seed); flat, at the dashed line, if the paper's run were one more
    seed of ours (calibration_cells.csv, hdnn.calibration)."""
    cells = pd.read_csv(csv)
    panels = list(cells.groupby(["table", "protocol"], sort=False))
    ncols = min(4, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 2.9 * nrows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, ((table, protocol), c) in zip(axes.flat, panels):
        n = int(c["seeds"].min())
        # n + 1 bins: the paper's run below all n seeds, between two of them, ..., above all.
        ax.hist(c["rank"] * n, bins=np.arange(n + 2) - 0.5, color="#4c72b0", edgecolor="white")
        ax.axhline(len(c) / (n + 1), color="black", linestyle="--", linewidth=1,
                   label="calibrated")
        ax.set_title(f"{table}, {protocol}\n{len(c)} cells, {n} seeds", fontsize=9)
        ax.set_xlabel("seeds of ours below the paper's run", fontsize=8)
        ax.set_xticks(range(0, n + 1, max(1, n // 5)))
        ax.tick_params(labelsize=8)
    for row in axes:
        row[0].set_ylabel("cells", fontsize=8)
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.suptitle("Rank of the paper's single run among our seeds (flat when calibrated)", fontsize=10)
    fig.tight_layout()
    _save(fig, png, pdf)


# -- Tables 1 and 2 as pictures: every seed, our mean and the paper's single run -------------------

ARCH_COLORS = dict(zip(("MS1", "MS2", "MS3", "H1", "H2"), sns.color_palette("colorblind", 5)))


@_isolated
def plot_table1_seeds(csv: str, protocol: str, png: str, pdf: str) -> None:
    """One protocol of Table 1 (table1_runs.csv): per data set and depth, each block's seeds as
    dots, their mean as a bar, the paper's single run as a black diamond."""
    runs = pd.read_csv(csv)
    runs = runs[runs["protocol"] == protocol].assign(test=lambda r: 100 * r["test_acc"])
    datasets = list(dict.fromkeys(runs["dataset"]))
    archs = [a for a in ARCH_COLORS if a in set(runs["arch"])]
    fig, axes = plt.subplots(len(datasets), 1, figsize=(10, 3.1 * len(datasets) + 0.6), squeeze=False)
    step = 0.8 / len(archs)
    for ax, dataset in zip(axes[:, 0], datasets):
        d = runs[runs.dataset == dataset]
        depths = sorted(d["depth"].unique())
        for j, depth in enumerate(depths):
            for i, arch in enumerate(archs):
                cell = d[(d.depth == depth) & (d.arch == arch)]
                if cell.empty:
                    continue
                x = j - 0.4 + step * (i + 0.5)
                jitter = np.linspace(-0.25, 0.25, len(cell)) * step
                ax.scatter(x + jitter, cell["test"], s=7, color=ARCH_COLORS[arch], alpha=0.7, linewidth=0)
                ax.hlines(cell["test"].mean(), x - 0.4 * step, x + 0.4 * step, color=ARCH_COLORS[arch], lw=2)
                ax.scatter([x], [100 * cell["paper_test_acc"].iloc[0]], marker="D", s=16, color="black",
                           zorder=3)
        ax.set_xticks(range(len(depths)), [str(int(n)) for n in depths])
        ax.set(title=TITLES.get(dataset, dataset), xlabel="layers", ylabel="test accuracy (%)",
               xlim=(-0.5, len(depths) - 0.5))
        ax.grid(axis="y", alpha=0.3)
    handles = [plt.Line2D([], [], color=ARCH_COLORS[a], marker="o", lw=2, markersize=4) for a in archs]
    handles.append(plt.Line2D([], [], color="black", marker="D", lw=0, markersize=5))
    top = 1 - 0.75 / fig.get_figheight()
    fig.legend(handles, [*archs, "paper (one run)"], loc="lower center", ncol=len(archs) + 1, fontsize=8,
               frameon=False, bbox_to_anchor=(0.5, top))
    fig.suptitle(f"Table 1, protocol {protocol}: each seed (dots), our mean (bar), the paper's run (◆)",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, top))
    _save(fig, png, pdf)


@_isolated
def plot_table2_seeds(csv: str, png: str, pdf: str) -> None:
    """Table 2 (table2_runs.csv): test accuracy by depth per column and protocol, each seed a dot,
    our mean a line, the paper's column a dashed black line."""
    runs = pd.read_csv(csv).assign(test=lambda r: 100 * r["test_acc"])
    protocols = list(dict.fromkeys(runs["protocol"]))
    columns = list(dict.fromkeys(runs["column"]))
    colors = dict(zip(columns, sns.color_palette("colorblind", len(columns))))
    fig, axes = plt.subplots(1, len(protocols), figsize=(5.2 * len(protocols), 3.8), squeeze=False,
                             sharey=True)
    for ax, protocol in zip(axes[0], protocols):
        p = runs[runs.protocol == protocol]
        depths = sorted(p["depth"].unique())
        pos = {d: i for i, d in enumerate(depths)}
        for k, column in enumerate(columns):
            c = p[p.column == column]
            offset = (k - (len(columns) - 1) / 2) * 0.08
            ax.scatter(c["depth"].map(pos) + offset, c["test"], s=9, color=colors[column], alpha=0.7, linewidth=0)
            mean = c.groupby("depth")["test"].mean()
            ax.plot(mean.index.map(pos) + offset, mean, color=colors[column], lw=1.5,
                    label=f"{column} (ours)")
        for column, c in p.groupby("paper_column"):
            paper = c.groupby("depth")["paper_test_acc"].first() * 100
            ax.plot(paper.index.map(pos), paper, color="black", lw=1, ls="--" if column == "H2" else ":",
                    marker="D", markersize=3, label=f"paper {column}")
        ax.set_xticks(range(len(depths)), [str(int(d)) for d in depths])
        ax.set(title=f"protocol {protocol}", xlabel="layers")
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("MNIST test accuracy (%)")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.suptitle("Table 2: each seed (dots), our mean (line), the paper's single run (black)", fontsize=10)
    fig.tight_layout()
    _save(fig, png, pdf)


# -- the confirmatory verdicts: every claim's endpoint against its margin --------------------------

VERDICT_COLORS = {"holds": "#1b9e77", "does not hold": "#d95f02", "inconclusive": "#7570b3"}
CLAIM_UNITS = {"table1": "points (test accuracy)", "table2": "points (test accuracy)", "figure2": "share of seeds"}


@_isolated
def plot_confirmatory_forest(csv: str, png: str, pdf: str) -> None:
    """Per claim, each (analysis, protocol) endpoint with the interval its verdict uses (Holm's
    level for the primary family), against the margin; the claim's side shaded
    (confirmatory_endpoints.csv, hdnn.endpoints)."""
    ep = pd.read_csv(csv)
    claims = list(dict.fromkeys(ep["claim"]))
    ncols = 4
    nrows = -(-len(claims) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.4 * ncols, 2.6 * nrows), squeeze=False)
    for ax in axes.flat[len(claims):]:
        ax.set_visible(False)
    for ax, claim in zip(axes.flat, claims):
        rows = ep[ep["claim"] == claim].sort_values(["level", "analysis"], kind="stable").reset_index(drop=True)
        test, margin, table = rows.loc[0, "test"], rows.loc[0, "margin"], rows.loc[0, "table"]
        edges = [-margin, margin] if test == "equivalence" else [-margin if test == "noninferiority" else margin]
        for e in edges:
            ax.axvline(e, color="black", linestyle="--", linewidth=0.8)
        if test == "equivalence":
            ax.axvspan(-margin, margin, color="#1b9e77", alpha=0.08)
        else:
            ax.axvspan(edges[0], edges[0] + 1e6, color="#1b9e77", alpha=0.08)
        labels = []
        for y, r in rows.iterrows():
            label = f"{'pilot' if r['analysis'] == 'exploratory' else 'confirm.'} · {r['protocol']}"
            labels.append(label + ("" if r["level"] == "primary" else " (2nd)"))
            if r["verdict"] not in VERDICT_COLORS:
                ax.text(0.02, y, str(r["verdict"]), transform=ax.get_yaxis_transform(), fontsize=7,
                        va="center", color="grey")
                continue
            color = VERDICT_COLORS[r["verdict"]]
            ax.plot([r["ci_low"], r["ci_high"]], [y, y], color=color, linewidth=2)
            ax.plot(r["estimate"], y, "o", color=color, markersize=4,
                    markerfacecolor="white" if r["analysis"] == "exploratory" else color)
        finite = rows[["ci_low", "ci_high", "estimate"]].to_numpy(dtype=float)
        finite = np.concatenate([finite[np.isfinite(finite)], edges])
        span = max(finite.max() - finite.min(), 1e-3)
        ax.set_xlim(finite.min() - 0.1 * span, finite.max() + 0.1 * span)
        ax.set_yticks(range(len(rows)), labels, fontsize=7)
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_title(claim, fontsize=9)
        ax.set_xlabel(CLAIM_UNITS[table], fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
    handles = [matplotlib.lines.Line2D([], [], color=c, linewidth=2, label=v) for v, c in VERDICT_COLORS.items()]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle("Each claim's endpoint and the interval its verdict uses, against the margin (dashed; "
                 "the claim's side shaded). Filled: confirmatory; open: pilot (exploratory)", fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    _save(fig, png, pdf)

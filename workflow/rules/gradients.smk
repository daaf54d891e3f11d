# Figure 2: networks trained with their gradient norms ‖∂y_N/∂y_ℓ‖₂ recorded at every iteration.
# A run's folder: {results_dir}/runs/figure2/{network}/seed{i}/ (metrics.json, norms.csv.gz,
# model.pt); every seed of a network trains in one job, as a Table 1 cell.
import re

from hdnn.provenance import NORMS_FILE

F2 = config["figure2"]
F2_NETWORKS = [net["name"] for net in F2["networks"]]
GRADIENT_CODE = TRAIN_CODE + [SRC + "gradients.py"]
FIGURE2_OUTPUTS = [
    *expand(R + "/figures/{name}.{ext}", name=["figure2", "eigenvalues"], ext=["png", "pdf"]),
    *expand(R + "/tables/gradients_summary.{ext}", ext=["csv", "md"]),
    config["report_dir"] + "/figure2_report.md",
]


def figure2_runs(network, file="metrics.json", seeds=None):
    return [f"{R}/runs/figure2/{network}/seed{i}/{file}" for i in range(seeds or F2["n_seeds"])]


rule train_figure2:
    input:
        data=f"{R}/data/{F2['dataset']}.pt",
        code=GRADIENT_CODE,
    output:
        runs=figure2_runs("{network}"),
        norms=figure2_runs("{network}", NORMS_FILE),
    wildcard_constraints:
        network="|".join(re.escape(name) for name in F2_NETWORKS),
    params:
        net=lambda w: S.figure2_network(config, w.network),
        # Resolved here, so a changed setting reruns the network.
        settings=lambda w: S.figure2_settings(config, w.network),
        track=lambda w: S.figure2_tracking(config, w.network),
    threads: config["threads_per_job"]
    resources:
        torch_jobs=1,
    script:
        "../scripts/train_figure2.py"


rule figure2_data:
    """Seed 0's norms of the plotted layers, every network: the data behind Figure 2."""
    input:
        runs=[p for net in F2_NETWORKS for p in figure2_runs(net, seeds=1)],
        norms=[p for net in F2_NETWORKS for p in figure2_runs(net, NORMS_FILE, seeds=1)],
        code=PLOT_CODE + REPORT_CODE + ["config/paper_values.yaml"],
    output:
        R + "/figures/figure2.csv.gz",
    params:
        layers=F2["layers"],
    script:
        "../scripts/figure2_data.py"


rule figure2:
    input:
        csv=R + "/figures/figure2.csv.gz",
        code=PLOT_CODE,
    output:
        png=R + "/figures/figure2.png",
        pdf=R + "/figures/figure2.pdf",
    script:
        "../scripts/figure2.py"


rule eigenvalues_data:
    """Lemma 3 on the trained weights of every seed of the time-invariant network."""
    input:
        runs=figure2_runs(F2["eigenvalues"]),
        data=f"{R}/data/{F2['dataset']}.pt",
        code=PLOT_CODE,
    output:
        R + "/figures/eigenvalues.csv.gz",
    script:
        "../scripts/eigenvalues_data.py"


rule eigenvalues:
    input:
        csv=R + "/figures/eigenvalues.csv.gz",
        code=PLOT_CODE + REPORT_CODE,
    output:
        png=R + "/figures/eigenvalues.png",
        pdf=R + "/figures/eigenvalues.pdf",
    script:
        "../scripts/eigenvalues.py"


rule gradients_summary:
    input:
        runs=[p for net in F2_NETWORKS for p in figure2_runs(net)],
        norms=[p for net in F2_NETWORKS for p in figure2_runs(net, NORMS_FILE)],
        eigenvalues=R + "/figures/eigenvalues.csv.gz",
        code=REPORT_CODE + ["config/paper_values.yaml"],
    output:
        csv=R + "/tables/gradients_summary.csv",
        md=R + "/tables/gradients_summary.md",
    params:
        layers=F2["layers"],
        stall=F2["stall"],
    script:
        "../scripts/gradients_summary.py"


rule gradients:
    """Figure 2, its summary table and the eigenvalue figure (part of `all`)."""
    input:
        FIGURE2_OUTPUTS,


rule report_figure2:
    """paper/: the gradients summary, Figure 2 and the eigenvalue figure, in one committed report."""
    input:
        tables=[R + "/tables/gradients_summary.md"],
        figures=[R + "/figures/figure2.png", R + "/figures/eigenvalues.png"],
        data=[R + "/tables/gradients_summary.csv"],
        runs=[p for net in F2_NETWORKS for p in figure2_runs(net)],
        code=REPORT_CODE + [SRC + "staleness.py"],
    output:
        config["report_dir"] + "/figure2_report.md",
    params:
        train_code=GRADIENT_CODE,
    script:
        "../scripts/report.py"

# Figure 2: networks trained with their gradient norms ‖∂y_N/∂y_ℓ‖₂ recorded at every iteration.
# A run's folder: {results_dir}/runs/figure2/{network}/seed{i}/ (metrics.json, norms.csv.gz,
# model.pt); every seed of a network trains in one job, as a Table 1 cell.
import re

from hdnn.provenance import NORMS_FILE

F2 = config["figure2"]
F2_NETWORKS = [net["name"] for net in F2["networks"]]
F2_RUNS = [p for net in F2_NETWORKS for p in figure2_runs(net)]
FIGURE2_OUTPUTS = [
    *expand(f"{P}/figures/{{name}}.{{ext}}", name=["figure2", "eigenvalues"], ext=["png", "pdf"]),
    *expand(f"{R}/tables/gradients_summary.{{ext}}", ext=["csv", "md"]),
    f"{config['report_dir']}/figure2_report.md",
]


rule train_figure2:
    input:
        data=f"{R}/data/{F2['dataset']}.pt",
        code=TRAIN_CODE,
    output:
        runs=figure2_runs("{network}"),
        norms=figure2_runs("{network}", NORMS_FILE),
        models=figure2_runs("{network}", MODEL),
    log:
        f"{R}/logs/runs/figure2/{{network}}.log",
    benchmark:
        f"{R}/benchmarks/figure2/{{network}}.tsv"
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
        # Measured (benchmark file, 2026-11-27, 2 cores at load ≈ 13): MS3, 64 layers, 3 seeds,
        # 30 epochs with the norms tracked: 108 s and a peak RSS of 833 MB. Bounds about 2× that.
        mem_mb=1500,
        runtime=15,
    conda:
        CONDA_ENV
    script:
        "../scripts/train_figure2.py"


rule figure2_data:
    """Seed 0's norms of the plotted layers, every network: the data behind Figure 2."""
    input:
        runs=[p for net in F2_NETWORKS for p in figure2_runs(net, seeds=1)],
        norms=[p for net in F2_NETWORKS for p in figure2_runs(net, NORMS_FILE, seeds=1)],
        code=code_of("figure2_data") + ["config/paper_values.yaml"],
    output:
        f"{P}/data/figure2.csv.gz",
    log:
        f"{R}/logs/figures/figure2_data.log",
    params:
        layers=F2["layers"],
    conda:
        CONDA_ENV
    script:
        "../scripts/figure2_data.py"


rule figure2:
    input:
        csv=f"{P}/data/figure2.csv.gz",
        code=code_of("figure2"),
    output:
        png=report(f"{P}/figures/figure2.png", caption="../report/figure2.rst",
                   category="Figure 2", subcategory="Gradient norms"),
        pdf=f"{P}/figures/figure2.pdf",
    log:
        f"{R}/logs/figures/figure2.log",
    params:
        protocol=F2["protocol"],
    conda:
        CONDA_ENV
    script:
        "../scripts/figure2.py"


rule eigenvalues_data:
    """Lemma 3 on the trained weights of every seed of the time-invariant network."""
    input:
        runs=figure2_runs(F2["eigenvalues"]),
        models=figure2_runs(F2["eigenvalues"], MODEL),
        data=f"{R}/data/{F2['dataset']}.pt",
        code=code_of("eigenvalues_data"),
    output:
        f"{P}/data/eigenvalues.csv.gz",
    log:
        f"{R}/logs/figures/eigenvalues_data.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/eigenvalues_data.py"


rule eigenvalues:
    input:
        csv=f"{P}/data/eigenvalues.csv.gz",
        code=code_of("eigenvalues"),
    output:
        png=report(f"{P}/figures/eigenvalues.png", caption="../report/eigenvalues.rst",
                   category="Figure 2", subcategory="Eigenvalues (Lemma 3)"),
        pdf=f"{P}/figures/eigenvalues.pdf",
    log:
        f"{R}/logs/figures/eigenvalues.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/eigenvalues.py"


rule gradients_summary:
    input:
        runs=F2_RUNS,
        norms=[p for net in F2_NETWORKS for p in figure2_runs(net, NORMS_FILE)],
        eigenvalues=f"{P}/data/eigenvalues.csv.gz",
        code=code_of("gradients_summary") + ["config/paper_values.yaml"],
    output:
        csv=report(f"{R}/tables/gradients_summary.csv", caption="../report/gradients_summary.rst",
                   category="Figure 2", subcategory="Summary"),
        md=report(f"{R}/tables/gradients_summary.md", caption="../report/gradients_summary.rst",
                  category="Figure 2", subcategory="Summary"),
    log:
        f"{R}/logs/tables/gradients_summary.log",
    params:
        layers=F2["layers"],
        stall=F2["stall"],
    conda:
        CONDA_ENV
    script:
        "../scripts/gradients_summary.py"


rule gradients:
    """Figure 2, its summary table and the eigenvalue figure (part of `all`)."""
    input:
        FIGURE2_OUTPUTS,


rule report_figure2:
    """paper/: the gradients summary, Figure 2 and the eigenvalue figure, in one committed report."""
    input:
        tables=[f"{R}/tables/gradients_summary.md"],
        figures=[f"{P}/figures/figure2.png", f"{P}/figures/eigenvalues.png"],
        data=[f"{R}/tables/gradients_summary.csv"],
        runs=F2_RUNS,
        code=code_of("report"),
    output:  # the report first (reporting.write_report), then the copy beside it
        f"{P}/figure2_report.md",
        f"{P}/data/gradients_summary.csv",
    log:
        f"{R}/logs/report/figure2_report.log",
    params:
        train_code=TRAIN_CODE,
    conda:
        CONDA_ENV
    script:
        "../scripts/report.py"

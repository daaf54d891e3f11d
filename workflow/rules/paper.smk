# The replication report, in two steps (hdnn.replication): the runs aggregated into
# {report_dir}/data/*.csv, then {report_dir}/replication.md rendered from that folder and the config
# alone (tests/test_replication_report.py rebuilds it from the committed data).
#   snakemake --cores all paper
P = config["report_dir"]
from hdnn.replication import PROBES, STATISTICS_FILES


PAPER_STAGES = {  # stage → (its runs, the training code its provenance marker covers, or None)
    "Table 1": (cells("table1"), TRAIN_CODE),
    "Table 1 experiments": (cells("experiments"), TRAIN_CODE),
    "Table 1 tuning": (existing(cells("tuning")), None),
    "Table 1 ablation": (existing(cells("ablation")), None),
    "Figure 2": ([p for net in F2_NETWORKS for p in figure2_runs(net)], GRADIENT_CODE),
    "Table 2": (mnist_runs("table2", M.table2_protocols(config), T2_COLUMNS, T2["depths"], T2["n_seeds"]),
                MNIST_CODE),
    "Table 2 tuning": (existing(mnist_runs("table2_tuning", M.tuning_grid(config), T2["archs"],
                                           T2["tuning"]["depths"], T2["tuning"]["n_seeds"])), None),
}


rule paper_data:
    """{report_dir}/data: per-seed Table 1 and Table 2 rows, every stage's provenance, the
    benchmark files. The report rules put table1_cells.csv and gradients_summary.csv there."""
    input:
        table1=f"{R}/tables/table1.csv",
        table2=f"{R}/tables/table2.csv",
        runs=[p for runs, _ in PAPER_STAGES.values() for p in runs],
        reports=[f"{P}/{name}_report.md" for name in ("table1", "figure2", "table2")],
        code=REPORT_CODE + [f"{SRC}{f}" for f in ("replication.py", "staleness.py", "costs.py")],
    output:
        [f"{P}/data/{name}" for name in ("table1_runs.csv", "table2_runs.csv", "provenance.csv",
                                         "benchmarks.csv")],
    log:
        f"{R}/logs/report/paper_data.log",
    params:
        stages={stage: {"metrics_paths": runs, "train_code": code}
                for stage, (runs, code) in PAPER_STAGES.items()},
        out=f"{P}/data",
        benchmarks=f"{R}/benchmarks",
    script:
        "../scripts/paper_data.py"


rule paper_statistics:
    """The claims as the tests fixed in config/claims.yaml, and our seeds' calibration against the
    paper's single runs, from the per-run data in {report_dir}/data (hdnn.claims, hdnn.calibration)."""
    input:
        data=[f"{P}/data/{name}" for name in ("table1_runs.csv", "table2_runs.csv", "gradients_summary.csv")],
        search=optional(f"{P}/data/table1_tuning_runs.csv"),  # written by `snakemake tuning`
        spec="config/claims.yaml",
        code=REPORT_CODE + [f"{SRC}{f}" for f in ("replication.py", "claims.py", "calibration.py", "statistics.py")]
        + ["config/paper_values.yaml"],
    output:
        [f"{P}/data/{name}" for name in STATISTICS_FILES],
    log:
        f"{R}/logs/report/paper_statistics.log",
    params:
        out=f"{P}/data",
    script:
        "../scripts/paper_statistics.py"


rule calibration_figure:
    input:
        csv=f"{P}/data/calibration_cells.csv",
        code=PLOT_CODE,
    output:
        png=report(f"{P}/figures/calibration_ranks.png", caption="../report/calibration.rst",
                   category="Claims", subcategory="Calibration"),
        pdf=f"{P}/figures/calibration_ranks.pdf",
    log:
        f"{R}/logs/report/calibration_figure.log",
    script:
        "../scripts/calibration_figure.py"


rule replication:
    input:
        data=rules.paper_data.output,
        statistics=rules.paper_statistics.output,
        figures=rules.calibration_figure.output,
        # Probes the report reads when they have run (config/probes/NAME.yaml → {report_dir}/probes/NAME/).
        probes=[p for name, f in PROBES.items() for p in optional(f"{P}/probes/{name}/data/{f}")],
        code=REPORT_CODE + [f"{SRC}{f}" for f in ("replication.py", "claims.py", "costs.py")] + ["config/paper_values.yaml"],
    output:
        f"{P}/replication.md",
        f"{P}/tables/table1.tex",
        f"{P}/tables/table2.tex",
    log:
        f"{R}/logs/report/replication.log",
    script:
        "../scripts/replication.py"


rule paper:
    """The replication report and everything it is made from."""
    input:
        rules.replication.output,

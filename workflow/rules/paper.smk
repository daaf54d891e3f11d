# The replication report (hdnn.replication): the runs aggregated into {report_dir}/data/*.csv (per
# run; per stage in data/stages/), the claims tested on them (paper_statistics), then
# {report_dir}/replication.md rendered from that folder, the config and the report's prose
# (workflow/report/replication/) alone (tests/test_replication_report.py rebuilds it from the committed data).
#   snakemake --cores all paper
from hdnn.collect import RUN_COLUMNS, STATISTICS_FILES
from hdnn.runs import PROBES


PAPER_STAGES = {  # stage (hdnn.collect.STAGES) → (its runs, the training code its provenance marker covers, or None)
    "table1": (cells("table1"), TRAIN_CODE),
    "table1_experiments": (cells("experiments"), TRAIN_CODE),
    "table1_tuning": (diagnostic("tuning", cells("tuning")), None),
    "table1_ablation": (diagnostic("ablation", cells("ablation")), None),
    "figure2": (F2_RUNS, TRAIN_CODE),
    "table2": (T2_RUNS, MNIST_CODE),
    "table2_tuning": (diagnostic("tuning_table2", T2_TUNING_RUNS), None),
}
# The report's prose, which the renderer includes.
PROSE = sorted(str(p) for p in Path("workflow/report/replication").iterdir())


rule runs_data:
    """{report_dir}/data: one table's per-seed rows (Table 1 or Table 2, each without the other's runs)."""
    input:
        table=f"{R}/tables/{{table}}.csv",
        code=code_of("runs_data"),
    output:
        f"{P}/data/{{table}}_runs.csv",
    wildcard_constraints:
        table="|".join(RUN_COLUMNS),
    log:
        f"{R}/logs/report/runs_data_{{table}}.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/runs_data.py"


rule experiments_runs_data:
    """{report_dir}/data: the Table 1 experiments and their control arms, per run."""
    input:
        runs=cells("experiments"),
        code=code_of("experiments_runs_data"),
    output:
        f"{P}/data/table1_experiments_runs.csv",
    log:
        f"{R}/logs/report/experiments_runs_data.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/experiments_runs_data.py"


rule stage_data:
    """One stage's provenance and benchmark files, on its own: rerunning Figure 2, say, updates
    its row without the other stages' runs."""
    input:
        runs=lambda w: PAPER_STAGES[w.stage][0],
        code=code_of("stage_data"),
    output:
        provenance=f"{P}/data/stages/{{stage}}.csv",
        benchmarks=f"{P}/data/stages/{{stage}}_benchmarks.csv",
    wildcard_constraints:
        stage="|".join(PAPER_STAGES),
    log:
        f"{R}/logs/report/stage_data_{{stage}}.log",
    params:
        train_code=lambda w: PAPER_STAGES[w.stage][1],
        benchmarks=f"{R}/benchmarks",
    conda:
        CONDA_ENV
    script:
        "../scripts/stage_data.py"


rule paper_data:
    """{report_dir}/data/provenance.csv and benchmarks.csv, gathered from the stages' files."""
    input:
        provenance=[f"{P}/data/stages/{stage}.csv" for stage in PAPER_STAGES],
        benchmarks=[f"{P}/data/stages/{stage}_benchmarks.csv" for stage in PAPER_STAGES],
        code=code_of("paper_data"),
    output:
        [f"{P}/data/{name}" for name in ("provenance.csv", "benchmarks.csv")],
    log:
        f"{R}/logs/report/paper_data.log",
    params:
        out=lambda w, output: str(Path(output[0]).parent),
    conda:
        CONDA_ENV
    script:
        "../scripts/paper_data.py"


rule paper_statistics:
    """The claims as the tests fixed in config/claims.yaml, and our seeds' calibration against the
    paper's single runs, from the per-run data in {report_dir}/data (hdnn.claims, hdnn.calibration)."""
    input:
        data=[f"{P}/data/{name}" for name in ("table1_runs.csv", "table2_runs.csv", "gradients_summary.csv",
                                              "table1_experiments_runs.csv")],
        search=diagnostic("tuning", [f"{P}/data/table1_tuning_runs.csv"]),  # written by `snakemake tuning`
        # The tuned protocols' settings, and the probes (config/probes/*.yaml → {report_dir}/probes/NAME/).
        chosen=[config["table1"]["tuned"], config["table2"]["tuned"]],
        probes=probe_data,
        spec="config/claims.yaml",
        code=code_of("paper_statistics") + ["config/paper_values.yaml"],
    output:
        [f"{P}/data/{name}" for name in STATISTICS_FILES],
    log:
        f"{R}/logs/report/paper_statistics.log",
    params:
        out=lambda w, output: str(Path(output[0]).parent),
        # The config sections it reads, so that changing them writes the files again.
        settings={k: config[k] for k in ("table1", "table2", "figure2", "experiments")},
    conda:
        CONDA_ENV
    script:
        "../scripts/paper_statistics.py"


rule calibration_figure:
    input:
        csv=f"{P}/data/calibration_cells.csv",
        code=code_of("calibration_figure"),
    output:
        png=report(f"{P}/figures/calibration_ranks.png", caption="../report/calibration.rst",
                   category="Claims", subcategory="Calibration"),
        pdf=f"{P}/figures/calibration_ranks.pdf",
    log:
        f"{R}/logs/report/calibration_figure.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/calibration_figure.py"


rule table_figures:
    """Tables 1 and 2 as pictures, from the per-run data: every seed, our mean, the paper's run."""
    input:
        table1=f"{P}/data/table1_runs.csv",
        table2=f"{P}/data/table2_runs.csv",
        code=code_of("table_figures"),
    output:
        table1=[report(f"{P}/figures/table1_{protocol}.png", caption="../report/table1_seeds.rst", category="Table 1",
                       subcategory="Seeds against the paper")
                if ext == "png" else f"{P}/figures/table1_{protocol}.pdf"
                for protocol in S.table1_protocols(config) for ext in ("png", "pdf")],
        table2=[report(f"{P}/figures/table2_seeds.png", caption="../report/table2_seeds.rst", category="Table 2",
                       subcategory="Seeds against the paper"), f"{P}/figures/table2_seeds.pdf"],
    log:
        f"{R}/logs/report/table_figures.log",
    params:
        protocols=S.table1_protocols(config),
    conda:
        CONDA_ENV
    script:
        "../scripts/table_figures.py"


rule replication:
    input:
        data=rules.paper_data.output
        + [f"{P}/data/{name}" for name in ("table1_runs.csv", "table2_runs.csv", "table1_cells.csv",
                                           "gradients_summary.csv", "stages/table1_tuning.csv", "block_params.csv")]
        + [f"{P}/data/figure1_{d}.csv.gz" for d in config["figure1"]["cells"]],
        statistics=rules.paper_statistics.output,
        # The first screen: the confirmatory verdicts (rules/confirmatory.smk) and the power analysis.
        confirmatory=rules.confirmatory_data.output + rules.confirmatory_table2_data.output
        + rules.confirmatory_gradients.output + rules.confirmatory_statistics.output + rules.power.output
        + rules.confirmatory_lemma3.output,
        figures=rules.calibration_figure.output + rules.table_figures.output + rules.confirmatory_forest.output,
        prose=PROSE,
        code=code_of("replication") + ["config/claims.yaml", "config/paper_values.yaml", CONFIRMATORY],
    output:
        f"{P}/replication.md",
        f"{P}/tables/table1.tex",
        f"{P}/tables/table2.tex",
    log:
        f"{R}/logs/report/replication.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/replication.py"


rule paper:
    """The replication report and everything it is made from."""
    input:
        rules.replication.output,
        [f"{P}/{name}_report.md" for name in ("table1", "figure2", "table2")],

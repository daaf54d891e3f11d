rule block_params:
    """Table 1's last row: each block's parameters per layer at nf = 4, counted from the modules
    (so the tables and the report render without torch)."""
    input:
        code=code_of("block_params"),
    output:
        f"{P}/data/block_params.csv",
    log:
        f"{R}/logs/tables/block_params.log",
    params:
        archs=config["table1"]["archs"],
    conda:
        CONDA_ENV
    script:
        "../scripts/block_params.py"


rule table1:
    input:
        runs=cells("table1"),
        block_params=rules.block_params.output[0],
        code=code_of("table1") + ["config/claims.yaml", "config/paper_values.yaml"],
    output:
        csv=report(f"{R}/tables/table1.csv", caption="../report/table1_csv.rst",
                   category="Table 1", subcategory="Per run"),
        md=report(f"{R}/tables/table1.md", caption="../report/table1.rst", category="Table 1",
                  subcategory="Table"),
        tex=f"{R}/tables/table1.tex",
        cells=report(f"{R}/tables/table1_cells.csv", caption="../report/table1_cells.rst",
                     category="Table 1", subcategory="Per cell"),
    log:
        f"{R}/logs/tables/table1.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/table1.py"


rule ablation_table:
    input:
        runs=cells("ablation"),
        code=code_of("ablation_table") + ["config/claims.yaml", "config/paper_values.yaml"],
    output:
        md=report(f"{R}/tables/table1_ablation.md", caption="../report/table1_ablation.rst",
                  category="Diagnostics", subcategory="Table 1 ablation"),
    log:
        f"{R}/logs/tables/table1_ablation.log",
    params:
        grid_keys=list(config["ablation"]["grid"]),
    conda:
        CONDA_ENV
    script:
        "../scripts/ablation_table.py"


rule tuning_table:
    input:
        runs=cells("tuning"),
        code=code_of("tuning_table"),
    output:
        md=report(f"{R}/tables/table1_tuning.md", caption="../report/table1_tuning.rst",
                  category="Diagnostics", subcategory="Table 1 tuning"),
        chosen=config["table1"]["tuned"],
    log:
        f"{R}/logs/tables/table1_tuning.log",
    params:
        epochs=config["tuning"]["epochs"],
        grid=config["tuning"]["grid"],
    conda:
        CONDA_ENV
    script:
        "../scripts/tuning_table.py"


rule tuning_runs_data:
    """The search's validation accuracy per run and number of epochs, beside the report: the
    claims are tested on it too (robustness over the settings searched, never the test set)."""
    input:
        runs=cells("tuning"),
        code=code_of("tuning_runs_data"),
    output:
        f"{config['report_dir']}/data/table1_tuning_runs.csv",
    log:
        f"{R}/logs/tables/tuning_runs_data.log",
    params:
        epochs=config["tuning"]["epochs"],
        grid=config["tuning"]["grid"],
    conda:
        CONDA_ENV
    script:
        "../scripts/tuning_runs_data.py"


rule experiments_table:
    """Each experiment beside the protocol runs it changes: what moves a cell off the paper."""
    input:
        table1=cells("table1"),
        runs=cells("experiments"),
        code=code_of("experiments_table") + ["config/claims.yaml", "config/paper_values.yaml"],
    output:
        md=report(f"{R}/tables/table1_experiments.md", caption="../report/table1_experiments.rst",
                  category="Diagnostics", subcategory="Table 1 experiments"),
    log:
        f"{R}/logs/tables/table1_experiments.log",
    params:
        runs={name: {**run, "cells": in_table1(run["cells"])}
              for name, run in config["experiments"]["runs"].items()},
    conda:
        CONDA_ENV
    script:
        "../scripts/experiments_table.py"


rule ablation:
    input:
        rules.ablation_table.output,


rule tuning:
    input:
        rules.tuning_table.output,
        rules.tuning_runs_data.output,


rule report_table1:
    """paper/: Table 1, its experiments, ablation and search, Figure 1 and the per-cell data, in
    one committed report with the provenance of its runs."""
    input:
        tables=[f"{R}/tables/table1.md", f"{R}/tables/table1_experiments.md"]
        + diagnostic("ablation", [f"{R}/tables/table1_ablation.md"]) + diagnostic("tuning", [f"{R}/tables/table1_tuning.md"]),
        figures=[f"{P}/figures/figure1.png"],
        data=[f"{R}/tables/table1_cells.csv"],
        runs=cells("table1") + cells("experiments"),
        code=code_of("report"),
    output:  # the report first (reporting.write_report), then the copy beside it
        f"{P}/table1_report.md",
        f"{P}/data/table1_cells.csv",
    log:
        f"{R}/logs/report/table1_report.log",
    params:
        train_code=TRAIN_CODE,
    conda:
        CONDA_ENV
    script:
        "../scripts/report.py"

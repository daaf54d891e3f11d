rule table1:
    input:
        runs=cells("table1"),
        code=REPORT_CODE + ["config/paper_values.yaml"],
    output:
        csv=R + "/tables/table1.csv",
        md=R + "/tables/table1.md",
        tex=R + "/tables/table1.tex",
        cells=R + "/tables/table1_cells.csv",
    params:
        missing=missing_protocols(),
    script:
        "../scripts/table1.py"


rule ablation_table:
    input:
        runs=cells("ablation"),
        code=REPORT_CODE + ["config/paper_values.yaml"],
    output:
        md=R + "/tables/table1_ablation.md",
    params:
        grid_keys=list(config["ablation"]["grid"]),
    script:
        "../scripts/ablation_table.py"


rule tuning_table:
    input:
        runs=cells("tuning"),
        code=REPORT_CODE,
    output:
        md=R + "/tables/table1_tuning.md",
        chosen=config["table1"]["tuned"],
    params:
        epochs=config["tuning"]["epochs"],
        grid=config["tuning"]["grid"],
    script:
        "../scripts/tuning_table.py"


rule experiments_table:
    """Each experiment beside the protocol runs it changes: what moves a cell off the paper."""
    input:
        table1=cells("table1"),
        runs=cells("experiments"),
        code=REPORT_CODE + ["config/paper_values.yaml"],
    output:
        md=R + "/tables/table1_experiments.md",
    params:
        runs={name: {**run, "cells": in_table1(run["cells"])}
              for name, run in config["experiments"]["runs"].items()},
    script:
        "../scripts/experiments_table.py"


rule ablation:
    input:
        rules.ablation_table.output,


rule tuning:
    input:
        rules.tuning_table.output,



def optional(path):
    """Stage outputs (ablation, searches) join the report when they exist, without forcing the
    expensive stage to run."""
    return [path] if Path(path).exists() else []


rule report_table1:
    """paper/: Table 1, its experiments, ablation and search, Figure 1 and the per-cell data, in
    one committed report with the provenance of its runs."""
    input:
        tables=[R + "/tables/table1.md", R + "/tables/table1_experiments.md"]
        + optional(R + "/tables/table1_ablation.md")
        + optional(R + "/tables/table1_tuning.md"),
        figures=[R + "/figures/figure1.png"],
        data=[R + "/tables/table1_cells.csv"],
        runs=cells("table1") + cells("experiments"),
        code=REPORT_CODE + [SRC + "staleness.py"],
    output:
        config["report_dir"] + "/table1_report.md",
    params:
        train_code=TRAIN_CODE,
    script:
        "../scripts/report.py"

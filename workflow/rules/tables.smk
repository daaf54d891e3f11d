rule table1:
    input:
        runs=cells("table1"),
        code=REPORT_CODE + ["config/paper_values.yaml"],
    output:
        csv=R + "/tables/table1.csv",
        md=R + "/tables/table1.md",
        tex=R + "/tables/table1.tex",
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
    """paper/: Table 1, its ablation and search, and Figure 1, in one committed report."""
    input:
        tables=[R + "/tables/table1.md"]
        + optional(R + "/tables/table1_ablation.md")
        + optional(R + "/tables/table1_tuning.md"),
        figures=[R + "/figures/figure1.png"],
        code=REPORT_CODE,
    output:
        config["report_dir"] + "/table1_report.md",
    script:
        "../scripts/report.py"

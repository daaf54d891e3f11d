rule table1:
    input:
        runs=cells("table1"),
        code=REPORT_CODE + ["config/paper_values.yaml"],
    output:
        csv=R + "/tables/table1.csv",
        md=R + "/tables/table1.md",
        tex=R + "/tables/table1.tex",
    script:
        "../scripts/table1.py"


rule ablation_table:
    input:
        runs=cells("ablation"),
        code=REPORT_CODE + ["config/paper_values.yaml"],
    output:
        md=R + "/tables/table1_ablation.md",
        chosen=config["ablation"]["output"],
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
        chosen=config["tuning"]["output"],
    params:
        epochs=config["tuning"]["epochs"],
    script:
        "../scripts/tuning_table.py"


rule ablation:
    input:
        rules.ablation_table.output,


rule tuning:
    input:
        rules.tuning_table.output,

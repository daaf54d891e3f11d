F1 = config["figure1"]


rule figure1_data:
    """Decision regions of one trained network (seed 0) on a grid: the data behind Figure 1."""
    input:
        model=lambda w: f"{R}/runs/table1/{F1['protocol']}/{w.dataset}/{F1['arch']}/depth{F1['cells'][w.dataset]}/seed0/metrics.json",
        data=f"{R}/data/{{dataset}}.pt",
        code=PLOT_CODE,
    output:
        f"{R}/figures/figure1_{{dataset}}.csv",
    log:
        f"{R}/logs/figures/figure1_{{dataset}}.log",
    params:
        n=F1["grid_points"],
    script:
        "../scripts/figure1_data.py"


rule figure1:
    input:
        csv=expand(f"{R}/figures/figure1_{{dataset}}.csv", dataset=list(F1["cells"])),
        code=PLOT_CODE,
    output:
        png=report(f"{R}/figures/figure1.png", caption="../report/figure1.rst", category="Figure 1"),
        pdf=f"{R}/figures/figure1.pdf",
    log:
        f"{R}/logs/figures/figure1.log",
    script:
        "../scripts/figure1.py"

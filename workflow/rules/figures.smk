F1 = config["figure1"]


rule figure1_data:
    """Decision regions of one trained network (seed 0) on a grid: the data behind Figure 1."""
    input:
        model=lambda w: f"{R}/runs/table1/{F1['protocol']}/{w.dataset}/{F1['arch']}/depth{F1['cells'][w.dataset]}/seed0/metrics.json",
        data=R + "/data/{dataset}.pt",
        code=PLOT_CODE,
    output:
        R + "/figures/figure1_{dataset}.csv",
    params:
        n=F1["grid_points"],
    script:
        "../scripts/figure1_data.py"


rule figure1:
    input:
        csv=expand(R + "/figures/figure1_{dataset}.csv", dataset=list(F1["cells"])),
        code=PLOT_CODE,
    output:
        png=R + "/figures/figure1.png",
        pdf=R + "/figures/figure1.pdf",
    script:
        "../scripts/figure1.py"

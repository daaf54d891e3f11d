# Figure 1. Each paper figure: a *_data rule computes what it draws into {report_dir}/data/ (from
# the runs; committed), and a drawing rule makes {report_dir}/figures/* from that file alone, so a
# restyle never retrains and CI redraws every committed figure (tests/test_figures.py).
F1 = config["figure1"]


rule figure1_data:
    """Decision regions of one trained network (seed 0) on a grid, with the run's test points."""
    input:
        run=lambda w: cell_run(R, "table1", F1["protocol"], w.dataset, F1["arch"], F1["cells"][w.dataset], 0),
        model=lambda w: cell_run(R, "table1", F1["protocol"], w.dataset, F1["arch"], F1["cells"][w.dataset], 0, MODEL),
        data=f"{R}/data/{{dataset}}.pt",
        code=code_of("figure1_data"),
    output:
        f"{P}/data/figure1_{{dataset}}.csv.gz",
    log:
        f"{R}/logs/figures/figure1_{{dataset}}.log",
    params:
        n=F1["grid_points"],
    conda:
        CONDA_ENV
    script:
        "../scripts/figure1_data.py"


rule figure1:
    input:
        csv=expand(f"{P}/data/figure1_{{dataset}}.csv.gz", dataset=list(F1["cells"])),
        code=code_of("figure1"),
    output:
        png=report(f"{P}/figures/figure1.png", caption="../report/figure1.rst", category="Figure 1"),
        pdf=f"{P}/figures/figure1.pdf",
    log:
        f"{R}/logs/figures/figure1.log",
    params:
        protocol=F1["protocol"],
    conda:
        CONDA_ENV
    script:
        "../scripts/figure1.py"

from hdnn.catalog import DATASETS


rule data_2d:
    """One 2-D data set (train/test split)."""
    input:
        code=code_of("data_2d"),
    output:
        f"{R}/data/{{dataset}}.pt",
    log:
        f"{R}/logs/data/{{dataset}}.log",
    wildcard_constraints:
        dataset="|".join(DATASETS),
    params:
        n_points=config["n_points"],
        seed=config["base_seed"],
    conda:
        CONDA_ENV
    script:
        "../scripts/data_2d.py"


rule plot_data_2d:
    """Its scatter plot, a rule apart so that restyling plots never remakes the data."""
    input:
        data=f"{R}/data/{{dataset}}.pt",
        code=code_of("plot_data_2d"),
    output:
        report(f"{R}/data/{{dataset}}.png", caption="../report/data.rst", category="Data",
               labels={"data set": "{dataset}"}),
    log:
        f"{R}/logs/data/{{dataset}}_plot.log",
    wildcard_constraints:
        dataset="|".join(DATASETS),
    conda:
        CONDA_ENV
    script:
        "../scripts/plot_data_2d.py"

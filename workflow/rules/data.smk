rule data_2d:
    """One 2-D data set (train/test split)."""
    input:
        code=[SRC + "data.py"],
    output:
        R + "/data/{dataset}.pt",
    wildcard_constraints:
        dataset="swiss_roll|double_moons",
    params:
        n_points=config["n_points"],
        seed=config["base_seed"],
    script:
        "../scripts/make_data.py"


rule plot_data_2d:
    """Its scatter plot, a rule apart so that restyling plots never remakes the data."""
    input:
        data=R + "/data/{dataset}.pt",
        code=PLOT_CODE,
    output:
        R + "/data/{dataset}.png",
    wildcard_constraints:
        dataset="swiss_roll|double_moons",
    script:
        "../scripts/plot_data.py"

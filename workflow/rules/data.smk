rule data_2d:
    """One 2-D data set (train/test split) and a scatter plot of it."""
    input:
        code=[SRC + "data.py", SRC + "plotting.py"],
    output:
        data=R + "/data/{dataset}.pt",
        plot=R + "/data/{dataset}.png",
    wildcard_constraints:
        dataset="swiss_roll|double_moons",
    params:
        n_points=config["n_points"],
        seed=config["base_seed"],
    script:
        "../scripts/make_data.py"

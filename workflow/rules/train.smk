# One job trains all seeds of one (study, setting, dataset, arch, depth) cell together.
# A run's folder: {results_dir}/runs/{study}/{setting}/{dataset}/{arch}/depth{depth}/seed{i}/


def run_paths(study, setting, dataset, arch, depth):
    return [f"{R}/runs/{study}/{setting}/{dataset}/{arch}/depth{depth}/seed{i}/metrics.json"
            for i in range(S.n_seeds(config, study))]


def chosen_protocols():
    """Table 1's protocols whose chosen-settings file exists; the others wait for their stage."""
    return [p for p, path in config["table1"]["protocols"].items() if Path(path).exists()]


def missing_protocols():
    return [p for p in config["table1"]["protocols"] if p not in chosen_protocols()]


def cells(study):
    """Every metrics.json of a study: its settings × Table 1's grid (the search may use fewer
    depths: tuning.depths)."""
    t1 = config["table1"]
    settings = chosen_protocols() if study == "table1" else S.setting_names(config, study)
    grid = config["tuning"].get("depths", t1["depths"]) if study == "tuning" else t1["depths"]
    return [p for setting in settings
            for dataset, depths in grid.items() for depth in depths
            for arch in t1["archs"] for p in run_paths(study, setting, dataset, arch, depth)]


for _study in S.STUDIES:

    rule:
        name:
            f"train_{_study}"
        input:
            data=R + "/data/{dataset}.pt",
            code=TRAIN_CODE,
        output:
            [f"{R}/runs/{_study}/{{setting}}/{{dataset}}/{{arch}}/depth{{depth}}/seed{i}/metrics.json"
               for i in range(S.n_seeds(config, _study))],
        wildcard_constraints:
            dataset="swiss_roll|double_moons",
            depth=r"\d+",
        params:
            study=_study,
            # Resolved here, so a changed setting (e.g. a new chosen file) reruns the cell.
            settings=lambda w, study=_study: S.resolve(config, study, w.setting, w.dataset, w.arch),
        threads: config["threads_per_job"]
        resources:
            torch_jobs=1,
        script:
            "../scripts/train_cell.py"

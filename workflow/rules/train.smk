# One job trains all seeds of one (study, setting, dataset, arch, depth) cell together.
# A run's folder: {results_dir}/runs/{study}/{setting}/{dataset}/{arch}/depth{depth}/seed{i}/


def run_paths(study, setting, dataset, arch, depth):
    return [f"{R}/runs/{study}/{setting}/{dataset}/{arch}/depth{depth}/seed{i}/metrics.json"
            for i in range(S.n_seeds(config, study))]


def missing_protocols():
    """Table 1's protocols that wait for their stage (tuned: the tuning search)."""
    return {"tuned": config["table1"]["tuned"]} if "tuned" not in S.table1_protocols(config) else {}


def in_table1(cells):
    """Cells (dataset → arch → depths) within Table 1's configured grid: an experiment explains
    Table 1 cells, so one outside the grid (e.g. in the smoke grid) is not run."""
    t1 = config["table1"]
    out = {}
    for dataset, per_arch in cells.items():
        for arch, depths in per_arch.items():
            kept = [d for d in depths if arch in t1["archs"] and d in t1["depths"].get(dataset, [])]
            if kept:
                out.setdefault(dataset, {})[arch] = kept
    return out


def cells(study):
    """Every metrics.json of a study: each setting × its cells (S.study_cells)."""
    return [p for setting in S.setting_names(config, study)
            for dataset, per_arch in in_table1(S.study_cells(config, study, setting)).items()
            for arch, depths in per_arch.items() for depth in depths
            for p in run_paths(study, setting, dataset, arch, depth)]


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

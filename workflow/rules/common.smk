# Helpers of the rule files (Snakemake's lint wants functions apart from rules).
from hdnn.runs import METRICS, MODEL, cell_run, figure2_run, mnist_run, runs_pattern, unknown_run
from hdnn.staleness import hdnn_imports


def code_of(script):
    """The hdnn modules workflow/scripts/<script>.py runs, directly or through another."""
    return [f"{SRC}{m}.py" for m in hdnn_imports(Path(workflow.basedir) / "scripts" / f"{script}.py")]


def run_paths(study, setting, dataset, arch, depth):
    return [cell_run(R, study, setting, dataset, arch, depth, i) for i in range(S.n_seeds(config, study))]


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


def figure2_runs(network, file=METRICS, seeds=None):
    return [figure2_run(R, network, i, file) for i in range(seeds or config["figure2"]["n_seeds"])]


def settings_runs(study, cells_by_setting, n_seeds, file=METRICS):
    """Every run of a study over {setting: {dataset: {arch: depths}}}, n_seeds per cell."""
    return [cell_run(R, study, setting, dataset, arch, depth, i, file)
            for setting, cells in cells_by_setting.items() for dataset, per_arch in cells.items()
            for arch, depths in per_arch.items() for depth in depths for i in range(n_seeds)]


def confirmatory_table2_runs(setting, seeds, file=METRICS):
    """Table 2's confirmatory runs of one protocol, seed by seed, so that runs stopped by the budget
    leave whole seeds of every cell."""
    return [cell_run(R, CF_STUDY, setting, "mnist", column, depth, i, file)
            for i in seeds for column in T2["archs"] for depth in T2["depths"]]


def mnist_runs(study, settings, columns, depths, n_seeds):
    return [mnist_run(R, study, s, c, d, i)
            for s in settings for c in columns for d in depths for i in range(n_seeds)]


def diagnostic(stage, paths):
    """A stage that chooses settings or only diagnoses (config `diagnostics.stages`): listed, its
    files are inputs of the reports (made if missing); not listed, none."""
    return paths if stage in config["diagnostics"]["stages"] else []


def probe_data(w):
    """The probes' data the claims use (config `diagnostics.probes`): made by their own configs,
    so a missing one stops the workflow with what to run."""
    paths = {name: f"{P}/probes/{name}/data/{PROBES[name]}" for name in config["diagnostics"]["probes"]}
    missing = [(name, p) for name, p in paths.items() if not Path(p).is_file()]
    if missing:
        raise ValueError("; ".join(f"probe {name}: {p} is missing: run the config/probes/ file whose "
                                   f"report_dir is {P}/probes/{name} (its first lines give the command), "
                                   f"or drop {name} from config key diagnostics.probes" for name, p in missing))
    return list(paths.values())


def mnist_root(files):
    """The folder torchvision's MNIST reads: root/MNIST/raw/<IDX files> (from the rule's files,
    so a job on another file system finds it where its inputs are)."""
    return str(Path(files[0]).parents[2])


def certify_sample(stage, file=METRICS):
    """The runs a stage's certificate reruns (config `certify.<stage>`), at their ordinary paths;
    a sample outside the stage's grid stops the workflow with the key to fix."""
    problems = CS.sample_problems(config, stage)
    if problems:
        raise ValueError("invalid config:\n  " + "\n  ".join(problems))
    spec = config["certify"][stage]
    if stage == "table1":
        return [cell_run(R, "table1", protocol, dataset, arch, depth, i, file)
                for protocol in spec["protocols"] for dataset, depths in spec["cells"].items()
                for depth in depths for arch in config["table1"]["archs"]
                for i in range(S.n_seeds(config, "table1"))]
    if stage == "figure2":
        return [p for net in spec["networks"] for p in figure2_runs(net, file)]
    if stage == "confirmatory":
        cells = {dataset: {arch: depths for arch in config["table1"]["archs"]} for dataset, depths in spec["cells"].items()}
        networks = {s: CF_SETTINGS["figure2"][s] for s, net in CF_FIGURE2.items() if net["name"] in spec["networks"]}
        return (settings_runs(CF_STUDY, {p: cells for p in spec["protocols"]}, CF_SEEDS["table1"], file)
                + settings_runs(CF_STUDY, networks, CF_SEEDS["figure2"], file))
    if stage == "confirmatory_table2":
        return confirmatory_table2_runs(CF.table2_protocols(CP)[0], spec["seeds"], file)
    return [mnist_run(R, "table2", protocol, column, depth, i, file) for protocol in spec["protocols"]
            for column in T2_COLUMNS for depth in config["table2"]["depths"] for i in spec["seeds"]]


def baseline_sample(stage, file=METRICS):
    """A paired certificate's baseline (config `certify_baseline.<stage>`): the stage's sample in
    another results_dir, made there at the committed runs' code; none unless configured."""
    base = (config.get("certify_baseline") or {}).get(stage)
    return [base + p[len(R):] for p in certify_sample(stage, file)] if base else []


def no_such_run(w):
    """Rule unknown_run's error (rules/unknown_run.smk): the first part of its path outside every
    grid, with the values there."""
    raise ValueError(unknown_run(f"{R}/runs/{w.path}", ALL_RUNS))

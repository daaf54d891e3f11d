# The confirmatory runs (config `confirmatory`: the protocol file; hdnn.confirmatory). Study
# `confirmatory`, a run's folder {results_dir}/runs/confirmatory/{setting}/{dataset}/{arch}/depth{depth}/seed{i}/:
#   snakemake --cores all confirmatory_runs
# Every run records the protocol file's sha256 (metrics.json `confirmatory_sha256`).
import re

from hdnn import confirmatory as CF

CONFIRMATORY = config["confirmatory"]
CP = CF.load(CONFIRMATORY)
CF_STUDY = CP["seeds"]["study"]
CF_FIGURE2 = CF.figure2_networks(config, CP)
CF_SETTINGS = {  # group → its settings (the wildcard's values) and their cells
    "table1": {p: {ds: {a: depths for a in config["table1"]["archs"]} for ds, depths in config["table1"]["depths"].items()}
               for p in CF.table1_protocols(CP)},
    "control": {s: in_table1(cells) for s, cells in CF.control_cells(config, CP).items()},
    "figure2": {s: {F2["dataset"]: {net["arch"]: [net["depth"]]}} for s, net in CF_FIGURE2.items()},
}


CF_SEEDS = CF.n_seeds(config, CP)   # the protocol's, or fewer on a smoke grid (confirmatory_max_seeds)
CF_RUNS = {group: settings_runs(CF_STUDY, CF_SETTINGS[group], CF_SEEDS[group]) for group in CF.GROUPS}
CF_TABLE2_RUNS = {setting: confirmatory_table2_runs(setting, range(CF_SEEDS["table2"]))
                  for setting in CF.table2_protocols(CP)}
# Every run the analysis needs: Table 2's secondary protocol runs as far as the budget goes, outside it.
CF_2D_RUNS = [p for group in CF.GROUPS for p in CF_RUNS[group]]   # Table 1, the controls, Figure 2
CF_ANALYSED = CF_2D_RUNS + CF_TABLE2_RUNS[CF.table2_protocols(CP)[0]]
PILOT = [f"resources/pilot/{CP['power']['pilot_commit']}/{name}" for name in CF.PILOT_FILES]


for _group in CF.GROUPS:

    rule:
        name:
            f"confirmatory_{_group}"
        input:
            data=f"{R}/data/{{dataset}}.pt",
            code=TRAIN_CODE,
            protocol=CONFIRMATORY,
        output:
            runs=[cell_run(R, CF_STUDY, "{setting}", "{dataset}", "{arch}", "{depth}", i)
                  for i in range(CF_SEEDS[_group])],
            norms=[cell_run(R, CF_STUDY, "{setting}", "{dataset}", "{arch}", "{depth}", i, NORMS_FILE)
                   for i in range(CF_SEEDS[_group])] if _group == "figure2" else [],
            models=[cell_run(R, CF_STUDY, "{setting}", "{dataset}", "{arch}", "{depth}", i, MODEL)
                    for i in range(CF_SEEDS[_group])],
        log:
            f"{R}/logs/runs/{CF_STUDY}/{{setting}}/{{dataset}}/{{arch}}/depth{{depth}}.log",
        benchmark:
            f"{R}/benchmarks/{CF_STUDY}/{{setting}}/{{dataset}}/{{arch}}/depth{{depth}}.tsv"
        wildcard_constraints:
            setting="|".join(map(re.escape, CF_SETTINGS[_group])),
            dataset="swiss_roll|double_moons",
            arch="|".join(ARCHS),
            depth=r"[1-9]\d*",
        params:
            study=CF_STUDY,
            settings=lambda w: CF.settings(config, CP, w.setting, w.dataset, w.arch),
            track=lambda w, group=_group: S.figure2_tracking(config, CF_FIGURE2[w.setting]["name"]) if group == "figure2" else None,
        threads: config["threads_per_job"]
        resources:
            torch_jobs=1,
            # Table 1's bounds (rules/train.smk) for up to 3× its 10 seeds per job.
            mem_mb=3000,
            runtime=90,
        conda:
            CONDA_ENV
        script:
            "../scripts/train_confirmatory.py"


rule confirmatory_table2:
    """One MNIST run of Table 2's MS1 and H2 columns (MS1 with H2's settings is no claim), seeds as
    the protocol's derivation [mnist, confirmatory, column, depth, index]: hdnn.mnist_train's
    with study `confirmatory`, so `tuned` and `paper` share them."""
    input:
        data=MNIST_RAW,
        code=MNIST_CODE,
        protocol=CONFIRMATORY,
    output:
        metrics=cell_run(R, CF_STUDY, "{setting}", "mnist", "{column}", "{depth}", "{i}"),
        model=cell_run(R, CF_STUDY, "{setting}", "mnist", "{column}", "{depth}", "{i}", MODEL),
    log:
        f"{R}/logs/runs/{CF_STUDY}/{{setting}}/mnist/{{column}}/depth{{depth}}/seed{{i}}.log",
    benchmark:
        f"{R}/benchmarks/{CF_STUDY}/{{setting}}/mnist/{{column}}/depth{{depth}}/seed{{i}}.tsv"
    wildcard_constraints:
        setting="|".join(CF.table2_protocols(CP)),
        column="|".join(T2["archs"]),
        depth="|".join(map(str, T2["depths"])),
        i="|".join(map(str, range(CF_SEEDS["table2"]))),
    params:
        study=CF_STUDY,
        root=lambda w, input: mnist_root(input.data),
        settings=lambda w: S.table2_settings(config, w.setting, w.column),
        arch=lambda w: w.column,
        paper_column=lambda w: w.column,
    threads: config["threads_per_job"]
    resources:
        torch_jobs=1,
        mem_mb=2500,   # as train_table2 (rules/mnist.smk)
        runtime=lambda w: mnist_runtime_min(int(w.depth), MNIST_MAX_EPOCHS),
        gpu=config["mnist"]["gpu"],
    conda:
        CONDA_ENV
    script:
        "../scripts/mnist_run.py"


rule confirmatory_table2_runs:
    """Table 2's confirmatory runs under the primary protocol (10 seeds × MS1, H2 × every depth)."""
    input:
        CF_TABLE2_RUNS[CF.table2_protocols(CP)[0]],


rule confirmatory_table2_secondary_runs:
    """Under the secondary protocol (`paper`), as far as the budget goes (outside it)."""
    input:
        CF_TABLE2_RUNS[CF.table2_protocols(CP)[1]],


rule confirmatory_runs:
    """Stage: every confirmatory run the analysis needs (Table 1's protocols, the control design,
    Figure 2's networks, Table 2's primary protocol)."""
    input:
        CF_ANALYSED,


rule power:
    """{report_dir}/data/power.csv: the seeds each endpoint needs, from the pilot's spreads (hdnn.power)."""
    input:
        protocol=CONFIRMATORY,
        pilot=PILOT,
        code=code_of("power"),
    output:
        f"{P}/data/power.csv",
    log:
        f"{R}/logs/report/power.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/power.py"


# The records, per kind of run (hdnn.confirmatory.DATA_FILES): Table 1's cells, the controls and
# Figure 2 train with one code, Table 2 (MNIST) with another.
rule confirmatory_data:
    """{report_dir}/data: every confirmatory 2-D run (Table 1, controls, Figure 2) and the check of its record."""
    input:
        runs=CF_2D_RUNS,
        protocol=CONFIRMATORY,
        code=code_of("confirmatory_data"),
    output:
        runs=f"{P}/data/{CF.DATA_FILES[0][0]}",
        check=f"{P}/data/{CF.DATA_FILES[0][1]}",
    log:
        f"{R}/logs/report/confirmatory_data.log",
    params:
        train_code=TRAIN_CODE,   # Table 1's training code and Figure 2's tracking
    conda:
        CONDA_ENV
    script:
        "../scripts/confirmatory_data.py"


rule confirmatory_table2_data:
    """{report_dir}/data: Table 2's confirmatory runs under the primary protocol and their check."""
    input:
        runs=CF_TABLE2_RUNS[CF.table2_protocols(CP)[0]],
        protocol=CONFIRMATORY,
        code=code_of("confirmatory_data"),
    output:
        runs=f"{P}/data/{CF.DATA_FILES[1][0]}",
        check=f"{P}/data/{CF.DATA_FILES[1][1]}",
    log:
        f"{R}/logs/report/confirmatory_table2_data.log",
    params:
        train_code=MNIST_CODE,
    conda:
        CONDA_ENV
    script:
        "../scripts/confirmatory_data.py"


rule confirmatory_gradients:
    """{report_dir}/data: Figure 2's norms per confirmatory run (min, max, stall)."""
    input:
        runs=CF_RUNS["figure2"],
        norms=settings_runs(CF_STUDY, CF_SETTINGS["figure2"], CF_SEEDS["figure2"], NORMS_FILE),
        code=code_of("confirmatory_gradients"),
    output:
        f"{P}/data/confirmatory_gradients.csv.gz",
    log:
        f"{R}/logs/report/confirmatory_gradients.log",
    params:
        stall=F2["stall"],
    conda:
        CONDA_ENV
    script:
        "../scripts/confirmatory_gradients.py"


rule confirmatory_statistics:
    """The endpoints with Holm, the sensitivity to the margins, the control design: confirmatory
    runs and, beside them, the pilot's (exploratory: paper/data at the protocol's power.pilot_commit,
    kept under resources/pilot, so neither a later rerun of the pilot nor the smoke grid moves it)."""
    input:
        runs=[rules.confirmatory_data.output.runs, rules.confirmatory_table2_data.output.runs],
        check=[rules.confirmatory_data.output.check, rules.confirmatory_table2_data.output.check],
        gradients=rules.confirmatory_gradients.output,
        protocol=CONFIRMATORY,
        pilot=PILOT,
        code=code_of("confirmatory_statistics"),
    output:
        endpoints=f"{P}/data/confirmatory_endpoints.csv",
        sensitivity=f"{P}/data/confirmatory_sensitivity.csv",
        units=f"{P}/data/confirmatory_units.csv",
        controls=f"{P}/data/confirmatory_controls.csv",
    log:
        f"{R}/logs/report/confirmatory_statistics.log",
    params:
        layers=F2["layers"],
        experiments=config["experiments"]["runs"],
    conda:
        CONDA_ENV
    script:
        "../scripts/confirmatory_statistics.py"


rule confirmatory_lemma3:
    """Lemma 3's sanity check on every confirmatory time-invariant H1 seed: max |Re λ| / max |λ| of
    the vector field's Jacobian over the test points (only the ratio per seed is kept)."""
    input:
        runs=[cell_run(R, CF_STUDY, s, F2["dataset"], net["arch"], net["depth"], i)
              for s, net in CF_FIGURE2.items() if net["time_invariant"] for i in range(CF_SEEDS["figure2"])],
        models=[cell_run(R, CF_STUDY, s, F2["dataset"], net["arch"], net["depth"], i, MODEL)
                for s, net in CF_FIGURE2.items() if net["time_invariant"] for i in range(CF_SEEDS["figure2"])],
        data=f"{R}/data/{F2['dataset']}.pt",
        code=code_of("confirmatory_lemma3"),
    output:
        f"{P}/data/confirmatory_lemma3.csv",
    log:
        f"{R}/logs/report/confirmatory_lemma3.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/confirmatory_lemma3.py"


rule confirmatory_forest:
    """Every claim's endpoint against its margin: confirmatory and pilot, primary and secondary."""
    input:
        endpoints=rules.confirmatory_statistics.output.endpoints,
        code=code_of("confirmatory_forest"),
    output:
        png=f"{P}/figures/confirmatory_forest.png",
        pdf=f"{P}/figures/confirmatory_forest.pdf",
    log:
        f"{R}/logs/figures/confirmatory_forest.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/confirmatory_forest.py"


rule confirmatory:
    """Stage: the confirmatory runs, their check, verdicts and forest plot."""
    input:
        rules.confirmatory_statistics.output,
        rules.confirmatory_lemma3.output,
        rules.confirmatory_forest.output,

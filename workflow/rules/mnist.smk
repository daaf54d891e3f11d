# Table 2 (MNIST). One job per run, a run's folder:
#   {results_dir}/runs/table2/{protocol}/{column}/depth{depth}/seed{i}/        (paper, tuned)
#   {results_dir}/runs/table2_tuning/{setting}/{column}/depth{depth}/seed{i}/  (stage tuning_table2)
# A column is an architecture (table2.archs) or one trained with another's settings (table2.cross).
import re

from hdnn.costs import mnist_runtime_min
from hdnn.catalog import IDX_FILES

T2 = config["table2"]
T2_COLUMNS = S.table2_columns(config)
T2_RUNS = mnist_runs("table2", S.TABLE2_PROTOCOLS, T2_COLUMNS, T2["depths"], T2["n_seeds"])
T2_TUNING_RUNS = mnist_runs("table2_tuning", S.tuning_grid(config), T2["archs"], T2["tuning"]["depths"],
                            T2["tuning"]["n_seeds"])
MNIST_RAW = [f"{R}/data/MNIST/raw/{name}" for name in IDX_FILES]


# The most epochs a run trains (runtime bound): a tuned run's epochs are at most the search's.
MNIST_MAX_EPOCHS = max(T2["base"]["epochs"], T2["tuning"]["epochs"])
TABLE2_OUTPUTS = [f"{R}/tables/table2.{ext}" for ext in ("md", "csv", "tex")] + [
    f"{config['report_dir']}/table2_report.md"]


rule mnist_data:
    """The four IDX files, verified by hash; the hash table is the only input because the bytes,
    not the code that fetched them, are what training depends on."""
    input:
        hashes="config/mnist_hashes.json",
    output:
        MNIST_RAW,
    log:
        f"{R}/logs/data/mnist.log",
    params:
        root=lambda w, output: mnist_root(output),
        source_dir=config["mnist"]["source_dir"],
        allow_download=config["mnist"]["allow_download"],
    conda:
        CONDA_ENV
    script:
        "../scripts/mnist_data.py"


for _study in ("table2", "table2_tuning"):

    rule:
        name:
            f"train_{_study}"
        input:
            data=MNIST_RAW,
            code=MNIST_CODE,
        output:
            metrics=mnist_run(R, _study, "{setting}", "{column}", "{depth}", "{i}"),
            model=mnist_run(R, _study, "{setting}", "{column}", "{depth}", "{i}", MODEL),
        log:
            f"{R}/logs/runs/{_study}/{{setting}}/{{column}}/depth{{depth}}/seed{{i}}.log",
        benchmark:
            f"{R}/benchmarks/{_study}/{{setting}}/{{column}}/depth{{depth}}/seed{{i}}.tsv"
        wildcard_constraints:
            setting="|".join(S.TABLE2_PROTOCOLS if _study == "table2" else map(re.escape, S.tuning_grid(config))),
            column="|".join(T2_COLUMNS if _study == "table2" else T2["archs"]),
            # The study's grid, so a target outside it (depth3, seed7) has no rule and fails first.
            depth="|".join(map(str, T2["depths"] if _study == "table2" else T2["tuning"]["depths"])),
            i="|".join(map(str, range(T2["n_seeds"] if _study == "table2" else T2["tuning"]["n_seeds"]))),
        params:
            study=_study,
            root=lambda w, input: mnist_root(input.data),
            # Resolved here, so a changed setting (e.g. a new chosen file) reruns the run.
            settings=lambda w, study=_study: (
                S.table2_settings(config, w.setting, w.column) if study == "table2"
                else S.tuning_settings(config, w.setting, w.column)),
            arch=lambda w: T2_COLUMNS[w.column]["arch"],
            paper_column=lambda w: T2_COLUMNS[w.column]["settings"],
        threads: config["threads_per_job"]
        resources:
            torch_jobs=1,
            # Measured (benchmark file, 2026-11-27, 1 thread, load ≈ 13): 16 layers, one epoch
            # on 10 000 of the images loaded (all 60 000), full test set: peak RSS 1268 MB (H2),
            # 1352 MB (MS1). Runtime: a generous bound on today's CPU speed (hdnn.costs).
            mem_mb=2500,
            runtime=lambda w: mnist_runtime_min(int(w.depth), MNIST_MAX_EPOCHS),
            gpu=config["mnist"]["gpu"],
        conda:
            CONDA_ENV
        script:
            "../scripts/mnist_run.py"


# Both protocols, always: the tuned one's settings come from config/chosen/tuned_table2.yaml
# (table2.tuned); without it the workflow stops before any job, naming the stage that writes it.
rule table2:
    input:
        runs=T2_RUNS,
        code=code_of("table2") + ["config/claims.yaml", "config/paper_values.yaml"],
    output:
        csv=report(f"{R}/tables/table2.csv", caption="../report/table2_csv.rst", category="Table 2",
                   subcategory="Per run"),
        md=report(f"{R}/tables/table2.md", caption="../report/table2.rst", category="Table 2",
                  subcategory="Table"),
        tex=f"{R}/tables/table2.tex",
    log:
        f"{R}/logs/tables/table2.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/table2.py"


rule table2_tuning_table:
    input:
        runs=T2_TUNING_RUNS,
        code=code_of("table2_tuning_table"),
    output:
        md=report(f"{R}/tables/table2_tuning.md", caption="../report/table2_tuning.rst",
                  category="Diagnostics", subcategory="Table 2 tuning"),
        chosen=T2["tuned"],
    params:
        grid=T2["tuning"]["grid"],
    log:
        f"{R}/logs/tables/table2_tuning.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/table2_tuning_table.py"


rule tuning_table2:
    """Stage: choose the tuned protocol's lr, lr_gamma and epochs on the validation split."""
    input:
        rules.table2_tuning_table.output,


rule report_table2:
    """paper/: Table 2 and its search (config diagnostics.stages), in one committed report."""
    input:
        tables=[f"{R}/tables/table2.md"] + diagnostic("tuning_table2", [f"{R}/tables/table2_tuning.md"]),
        figures=[],
        runs=T2_RUNS,
        code=code_of("report"),
    output:
        f"{config['report_dir']}/table2_report.md",
    params:
        train_code=MNIST_CODE,
    log:
        f"{R}/logs/report/table2_report.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/report.py"

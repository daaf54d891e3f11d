# One job trains all seeds of one (study, setting, dataset, arch, depth) cell together.
# A run's folder: {results_dir}/runs/{study}/{setting}/{dataset}/{arch}/depth{depth}/seed{i}/
import re

from hdnn.catalog import ARCHS


for _study in S.STUDIES:

    rule:
        name:
            f"train_{_study}"
        input:
            data=f"{R}/data/{{dataset}}.pt",
            code=TRAIN_CODE,
        output:
            runs=[cell_run(R, _study, "{setting}", "{dataset}", "{arch}", "{depth}", i)
                  for i in range(S.n_seeds(config, _study))],
            models=[cell_run(R, _study, "{setting}", "{dataset}", "{arch}", "{depth}", i, MODEL)
                    for i in range(S.n_seeds(config, _study))],
        log:
            f"{R}/logs/runs/{_study}/{{setting}}/{{dataset}}/{{arch}}/depth{{depth}}.log",
        benchmark:
            f"{R}/benchmarks/{_study}/{{setting}}/{{dataset}}/{{arch}}/depth{{depth}}.tsv"
        # A target outside these (an unknown block, 0 layers, a setting the study does not have)
        # has no rule: Snakemake says so before any job runs.
        wildcard_constraints:
            setting="|".join(map(re.escape, S.setting_names(config, _study))),
            dataset="swiss_roll|double_moons",
            arch="|".join(ARCHS),
            depth=r"[1-9]\d*",
        params:
            study=_study,
            # Resolved here, so a changed setting (e.g. a new chosen file) reruns the cell.
            settings=lambda w, study=_study: S.resolve(config, study, w.setting, w.dataset, w.arch),
        threads: config["threads_per_job"]
        resources:
            torch_jobs=1,
            # Measured (benchmark file, 2026-11-27, 2 cores at load ≈ 13): the heaviest cell, MS3
            # at 64 layers with 10 seeds and 50 epochs, 147 s and a peak RSS of 781 MB; the
            # slowest committed cell (tuned, 200 epochs) took 295 s. Both bounds about 2× that.
            mem_mb=1500,
            runtime=30,
        conda:
            CONDA_ENV
        script:
            "../scripts/train_cell.py"

from hdnn.joblog import log_runs, setup_logging
from hdnn.train import run_cell

sm = snakemake  # noqa: F821 (injected by Snakemake)
progress = setup_logging(sm)  # bars on a terminal only, never in the log
w = sm.wildcards
run_cell(sm.input.data, list(sm.output.runs), study=sm.params.study, setting=w.setting,
         dataset=w.dataset, arch=w.arch, depth=int(w.depth), settings=sm.params.settings,
         base_seed=sm.config["base_seed"], threads=sm.threads, progress=progress)
log_runs(sm.output.runs)

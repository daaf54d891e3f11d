from hdnn.joblog import log_runs, setup_logging
from hdnn.train import run_cell

sm = snakemake  # noqa: F821 (injected by Snakemake)
progress = setup_logging(sm)  # bars on a terminal only, never in the log
net = sm.params.net
run_cell(sm.input.data, list(sm.output.runs), study="figure2", setting=sm.wildcards.network,
         dataset=sm.config["figure2"]["dataset"], arch=net["arch"], depth=net["depth"],
         settings=sm.params.settings, base_seed=sm.config["base_seed"], threads=sm.threads,
         track=sm.params.track, progress=progress)
log_runs(sm.output.runs)

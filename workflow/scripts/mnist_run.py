from hdnn.joblog import log_runs, setup_logging
from hdnn.mnist_train import run_mnist

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)  # mnist_train draws its bars only on a terminal itself
w = sm.wildcards
run_mnist(sm.params.root, sm.output.metrics, study=sm.params.study, setting=w.setting, arch=sm.params.arch,
          depth=int(w.depth), seed_index=int(w.i), settings=sm.params.settings,
          base_seed=sm.config["base_seed"], threads=sm.threads, column=w.column,
          paper_column=sm.params.paper_column)
log_runs([sm.output.metrics])

from hdnn.confirmatory import run_record
from hdnn.joblog import log_runs, setup_logging
from hdnn.mnist_train import run_mnist

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)  # mnist_train draws its bars only on a terminal itself
w = sm.wildcards
# A confirmatory run (its rule names the protocol file) records the file's hash.
record = run_record(sm.input.protocol) if "protocol" in sm.input.keys() else None
run_mnist(sm.params.root, sm.output.metrics, study=sm.params.study, setting=w.setting, arch=sm.params.arch,
          depth=int(w.depth), seed_index=int(w.i), settings=sm.params.settings,
          base_seed=sm.config["base_seed"], threads=sm.threads, column=w.column,
          paper_column=sm.params.paper_column, extra_keys=record)
log_runs([sm.output.metrics])

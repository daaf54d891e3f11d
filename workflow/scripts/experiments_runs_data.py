from hdnn.joblog import setup_logging
from hdnn.collect import write_experiment_runs

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
write_experiment_runs(sm.output[0], list(sm.input.runs))

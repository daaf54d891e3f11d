from hdnn.joblog import setup_logging
from hdnn.collect import write_runs_data

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
write_runs_data(sm.wildcards.table, sm.input.table, sm.output[0])

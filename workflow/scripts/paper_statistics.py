from hdnn.joblog import setup_logging
from hdnn.collect import write_statistics

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
write_statistics(sm.params.out, sm.config, sm.input.spec)

from hdnn.confirmatory import load
from hdnn.joblog import setup_logging
from hdnn.power import write_csv

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
write_csv(sm.output[0], load(sm.input.protocol))

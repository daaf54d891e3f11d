from hdnn.figure_data import eigenvalue_table, write_csv
from hdnn.joblog import setup_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
write_csv(eigenvalue_table(sm.input.runs, sm.input.data), sm.output[0])

from hdnn.figure_data import figure2_data, write_csv
from hdnn.joblog import setup_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
write_csv(figure2_data(sm.input.runs, sm.params.layers), sm.output[0])

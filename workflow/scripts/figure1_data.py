from hdnn.figure_data import decision_grid, write_csv
from hdnn.joblog import setup_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
write_csv(decision_grid(sm.input.model, sm.input.data, sm.wildcards.dataset, sm.params.n), sm.output[0])

from hdnn.joblog import setup_logging
from hdnn.plotting import plot_confirmatory_forest

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
plot_confirmatory_forest(sm.input.endpoints, sm.output.png, sm.output.pdf)

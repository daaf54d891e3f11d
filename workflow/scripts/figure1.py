from hdnn.joblog import setup_logging
from hdnn.plotting import plot_figure1

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
plot_figure1(sm.input.csv, sm.params.protocol, sm.output.png, sm.output.pdf)

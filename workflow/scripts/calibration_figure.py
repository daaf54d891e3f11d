from hdnn.joblog import setup_logging
from hdnn.plotting import plot_calibration_ranks

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
plot_calibration_ranks(sm.input.csv, sm.output.png, sm.output.pdf)

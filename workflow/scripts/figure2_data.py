from hdnn.joblog import setup_logging
from hdnn.plotting import figure2_data

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
figure2_data(sm.input.runs, sm.params.layers).to_csv(sm.output[0], index=False)

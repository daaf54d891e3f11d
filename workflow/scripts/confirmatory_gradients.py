from hdnn import confirmatory as CF
from hdnn.joblog import setup_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
stall = sm.params.stall
CF.figure2_gradients(sm.input.runs, stall["window"], stall["threshold"]).to_csv(sm.output[0], index=False)

from hdnn.joblog import setup_logging
from hdnn.figure2 import gradients_summary, write_gradients_summary

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
stall = sm.params.stall
df = gradients_summary(sm.input.runs, sm.input.eigenvalues, stall["window"], stall["threshold"])
write_gradients_summary(df, sm.output.csv, sm.output.md, sm.params.layers, stall["window"],
                        stall["threshold"])

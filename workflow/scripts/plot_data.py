from hdnn.data import load_dataset
from hdnn.plotting import plot_dataset

sm = snakemake  # noqa: F821 (injected by Snakemake)
plot_dataset(load_dataset(sm.input.data), sm.wildcards.dataset, sm.output[0])

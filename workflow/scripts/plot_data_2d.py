from hdnn.data import load_dataset
from hdnn.joblog import setup_logging
from hdnn.plotting import plot_dataset

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
data = load_dataset(sm.input.data)
plot_dataset(data["x_train"].numpy(), data["y_train"].numpy(), sm.wildcards.dataset, sm.output[0])

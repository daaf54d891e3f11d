from hdnn.data import make_dataset, save_dataset
from hdnn.joblog import setup_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
data = make_dataset(sm.wildcards.dataset, n_points=sm.params.n_points, seed=sm.params.seed)
save_dataset(data, sm.output[0])

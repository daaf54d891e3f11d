from hdnn.joblog import setup_logging
from hdnn.mnist import prepare_mnist

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
prepare_mnist(sm.params.root, sm.params.source_dir, sm.params.allow_download)

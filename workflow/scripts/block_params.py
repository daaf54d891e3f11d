from hdnn.joblog import setup_logging
from hdnn.block_params import write_block_params

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
write_block_params(sm.params.archs, sm.output[0])

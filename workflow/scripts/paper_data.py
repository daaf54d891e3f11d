from hdnn.joblog import setup_logging
from hdnn.collect import write_provenance

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
write_provenance(sm.params.out, sm.input.provenance, sm.input.benchmarks)

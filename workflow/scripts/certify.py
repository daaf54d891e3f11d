from hdnn.certify import write_report
from hdnn.joblog import setup_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
write_report(list(sm.input.summaries), sm.output[0])

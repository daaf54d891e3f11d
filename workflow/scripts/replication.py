from hdnn.joblog import setup_logging
from hdnn.replication import write_replication

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
write_replication(sm.config["report_dir"], sm.config)

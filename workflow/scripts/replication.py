from hdnn.replication import write_replication

sm = snakemake  # noqa: F821 (injected by Snakemake)
write_replication(sm.config["report_dir"], sm.config)

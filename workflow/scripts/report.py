from hdnn.reporting import write_report

sm = snakemake  # noqa: F821 (injected by Snakemake)
write_report(list(sm.input.tables), list(sm.input.figures), sm.output[0])

from hdnn.reporting import collect_table2_runs, write_table2

sm = snakemake  # noqa: F821 (injected by Snakemake)
write_table2(collect_table2_runs(sm.input.runs), sm.output.csv, sm.output.md, sm.output.tex)

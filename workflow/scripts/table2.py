from hdnn.joblog import setup_logging
from hdnn.table2 import collect_table2_runs, write_table2

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
write_table2(collect_table2_runs(sm.input.runs), sm.output.csv, sm.output.md, sm.output.tex)

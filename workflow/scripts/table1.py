from hdnn.joblog import setup_logging
from hdnn.table1 import read_block_params, write_table1
from hdnn.runs import collect_runs

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
write_table1(collect_runs(sm.input.runs), sm.output.csv, sm.output.md, sm.output.tex,
             sm.output.cells, read_block_params(sm.input.block_params))

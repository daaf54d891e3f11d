from hdnn.joblog import setup_logging
from hdnn.selection import write_tuning_table2
from hdnn.runs import collect_runs

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
write_tuning_table2(collect_runs(sm.input.runs), sm.output.md, sm.output.chosen, sm.params.grid)

from hdnn.joblog import setup_logging
from hdnn.table1 import write_experiments
from hdnn.runs import collect_runs

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
write_experiments(collect_runs(sm.input.table1), collect_runs(sm.input.runs), sm.params.runs,
                  sm.output.md)

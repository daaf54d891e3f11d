from hdnn.joblog import setup_logging
from hdnn.table1 import write_ablation
from hdnn.runs import collect_runs

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
write_ablation(collect_runs(sm.input.runs), sm.output.md, sm.params.grid_keys)

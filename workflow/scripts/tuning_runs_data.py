from hdnn.joblog import setup_logging
from hdnn.selection import tuning_runs
from hdnn.runs import collect_runs

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
tuning_runs(collect_runs(sm.input.runs), list(sm.params.grid), sm.params.epochs).to_csv(
    sm.output[0], index=False, float_format="%.6g")

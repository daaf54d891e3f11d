from hdnn import confirmatory as CF
from hdnn.joblog import setup_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
runs, check = CF.records(sm.input.runs, sm.input.protocol, sm.params.train_code)
runs.to_csv(sm.output.runs, index=False)
check.to_csv(sm.output.check, index=False)

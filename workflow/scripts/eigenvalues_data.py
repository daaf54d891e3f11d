from hdnn.joblog import setup_logging
from hdnn.plotting import eigenvalue_table

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
eigenvalue_table(sm.input.runs, sm.input.data).to_csv(sm.output[0], index=False)

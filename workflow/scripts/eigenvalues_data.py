from hdnn.figure_data import eigenvalue_table, write_csv
from hdnn.joblog import setup_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
# Every digit: gradients_summary's Lemma 3 ratio is computed from these (real parts near 1e-16).
write_csv(eigenvalue_table(sm.input.runs, sm.input.data), sm.output[0], digits=None)

from hdnn.joblog import setup_logging
from hdnn.plotting import plot_table1_seeds, plot_table2_seeds

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
for protocol in sm.params.protocols:
    plot_table1_seeds(sm.input.table1, protocol, *(f for f in sm.output.table1 if f"table1_{protocol}." in f))
plot_table2_seeds(sm.input.table2, *sm.output.table2)

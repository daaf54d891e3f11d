import pandas as pd

from hdnn.figure2 import lemma3_ratio
from hdnn.figure_data import eigenvalue_table
from hdnn.joblog import setup_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
eigs = eigenvalue_table(sm.input.runs, sm.input.data)
pd.DataFrame([{"network": network, "seed_index": seed, "lemma3_ratio": lemma3_ratio(g)}
              for (network, seed), g in eigs.groupby(["network", "seed_index"])]).to_csv(sm.output[0], index=False)

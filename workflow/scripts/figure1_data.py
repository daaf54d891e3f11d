from pathlib import Path

from hdnn.joblog import setup_logging
from hdnn.plotting import decision_grid

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
model = Path(sm.input.model).with_name("model.pt")
decision_grid(str(model), sm.input.data, sm.wildcards.dataset, sm.params.n).to_csv(sm.output[0], index=False)

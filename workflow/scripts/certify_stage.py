from hdnn.certify import certify
from hdnn.joblog import setup_logging

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
certify(sm.wildcards.stage, list(sm.input.runs), sm.params.committed, sm.params.stage_provenance,
        list(sm.params.train_code), dict(sm.params.tolerance), sm.output.summary.rsplit("/", 1)[0],
        window=sm.params.stall["window"], threshold=sm.params.stall["threshold"],
        baseline=list(sm.input.baseline) or None)

from hdnn.joblog import setup_logging
from hdnn.reporting import write_report
from hdnn.staleness import provenance_lines

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
runs = list(sm.input.get("runs", []))
provenance = provenance_lines(runs, list(sm.params.train_code)) if runs else []
write_report(list(sm.input.tables), list(sm.input.figures), sm.output[0],
             data=list(sm.input.get("data", [])), provenance=provenance)

from hdnn.reporting import collect_runs, write_tuning
from hdnn.settings import paper_common

sm = snakemake  # noqa: F821 (injected by Snakemake)
write_tuning(collect_runs(sm.input.runs), sm.output.md, sm.output.chosen,
             common=paper_common(sm.config), epochs=sm.params.epochs)

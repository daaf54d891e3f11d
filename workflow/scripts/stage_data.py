from hdnn.joblog import setup_logging
from hdnn.collect import write_stage_data

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
write_stage_data(sm.output.provenance, sm.output.benchmarks, sm.wildcards.stage, list(sm.input.runs),
                 sm.params.train_code, bench_dir=sm.params.benchmarks)

from hdnn.joblog import setup_logging
from hdnn.replication import write_paper_data

sm = snakemake  # noqa: F821 (injected by Snakemake)
setup_logging(sm)
write_paper_data(sm.params.out,
                 [{"stage": stage, **s} for stage, s in sm.params.stages.items()],
                 table1_csv=sm.input.table1, table2_csv=sm.input.table2,
                 bench_dir=sm.params.benchmarks)

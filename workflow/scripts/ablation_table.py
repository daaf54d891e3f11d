from hdnn.reporting import collect_runs, write_ablation

sm = snakemake  # noqa: F821 (injected by Snakemake)
write_ablation(collect_runs(sm.input.runs), sm.output.md, sm.params.grid_keys)

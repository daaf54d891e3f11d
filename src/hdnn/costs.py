"""What training jobs cost: the Snakemake benchmark files summed per stage, and the runtime the
workflow requests for an MNIST run (an upper bound, for schedulers such as SLURM)."""

from pathlib import Path

import pandas as pd


def _total(col: pd.Series) -> float:
    """Snakemake writes "NA" where psutil could not measure (a job faster than its first sample):
    a stage with no measurement stays NA rather than 0."""
    return col.sum(min_count=1)


def stage_costs(benchmark_dir: str | Path) -> pd.DataFrame:
    """One row per stage (the first folder under ``benchmark_dir``: table1, figure2, table2, ...):
    its jobs, wall and CPU seconds summed, and the largest peak RSS of any job (MiB)."""
    root = Path(benchmark_dir)
    paths = sorted(root.rglob("*.tsv"))
    if not paths:
        raise FileNotFoundError(f"no benchmark files (*.tsv) under {root}")
    df = pd.concat([pd.read_csv(p, sep="\t").assign(stage=p.relative_to(root).parts[0])
                    for p in paths], ignore_index=True)
    return (df.groupby("stage", sort=True)
            .agg(jobs=("s", "size"), wall_s=("s", _total), cpu_s=("cpu_time", _total),
                 max_rss_mb=("max_rss", "max"))
            .reset_index())


def mnist_runtime_min(depth: int, epochs: int) -> int:
    """Minutes one MNIST run may take on one CPU thread: a generous upper bound. Measured
    (benchmarks/README.md, 60 000 images, 1 thread): about 11 s per block layer and epoch for H2,
    evaluation included, MS1 1.5× that; this allows 30 s per layer-epoch plus 60 s per epoch for
    the rest (convolution, output layer, evaluation). A GPU takes about 4 s per epoch."""
    return -(-epochs * (60 + 30 * depth) // 60)

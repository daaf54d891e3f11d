"""What training jobs cost: the Snakemake benchmark files summed per stage, and the runtime the
workflow requests for an MNIST run (an upper bound, for schedulers such as SLURM)."""

from pathlib import Path

import pandas as pd


def _total(col: pd.Series) -> float:
    """Snakemake writes "NA" where psutil could not measure (a job faster than its first sample):
    a stage with no measurement stays NA rather than 0."""
    return col.sum(min_count=1)


BENCHMARK_COLUMNS = ["job", "stage", "s", "cpu_time", "max_rss"]


def read_benchmarks(benchmark_dir: str | Path) -> pd.DataFrame:
    """Snakemake's benchmark files under ``benchmark_dir``, one row per file: ``job`` its path
    without .tsv, ``stage`` its first folder (table1, figure2, table2, ...); none: an empty frame."""
    root = Path(benchmark_dir)
    paths = sorted(root.rglob("*.tsv")) if root.is_dir() else []
    frames = [pd.read_csv(p, sep="\t").assign(job=str(p.relative_to(root).with_suffix("")),
                                              stage=p.relative_to(root).parts[0]) for p in paths]
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame())\
        .reindex(columns=BENCHMARK_COLUMNS)


def sum_per_stage(bench: pd.DataFrame) -> pd.DataFrame:
    """Per stage: its jobs, wall and CPU seconds summed, the largest peak RSS of any job (MiB)."""
    return (bench.groupby("stage", sort=True)
            .agg(jobs=("s", "size"), wall_s=("s", _total), cpu_s=("cpu_time", _total),
                 max_rss_mb=("max_rss", "max"))
            .reset_index())


def stage_costs(benchmark_dir: str | Path) -> pd.DataFrame:
    """``sum_per_stage`` of the benchmark files under ``benchmark_dir``."""
    bench = read_benchmarks(benchmark_dir)
    if bench.empty:
        raise FileNotFoundError(f"no benchmark files (*.tsv) under {benchmark_dir}")
    return sum_per_stage(bench)


def mnist_runtime_min(depth: int, epochs: int) -> int:
    """Minutes one MNIST run may take on one CPU thread: a generous upper bound. Measured
    (benchmarks/README.md, 60 000 images, 1 thread): about 11 s per block layer and epoch for H2,
    evaluation included, MS1 1.5× that; this allows 30 s per layer-epoch plus 60 s per epoch for
    the rest (convolution, output layer, evaluation). A GPU takes about 4 s per epoch."""
    return -(-epochs * (60 + 30 * depth) // 60)

"""Job costs (hdnn.costs): benchmark files summed per stage, MNIST runtime bounds."""

import pandas as pd
import pytest

from hdnn.costs import mnist_runtime_min, stage_costs

# A Snakemake benchmark file: a header and one row per repetition.
HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write_benchmark(path, s, rss, cpu):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{s}\t0:00:{s:02.0f}\t{rss}\t900\t400\t450\t0\t1\t95\t{cpu}\n")


def test_stage_costs_sums_time_and_takes_the_largest_memory(tmp_path):
    write_benchmark(tmp_path / "table1/paper/swiss_roll/H1/depth4.tsv", 10.0, 300, 9.5)
    write_benchmark(tmp_path / "table1/code/swiss_roll/H1/depth8.tsv", 20.0, 500, 19.0)
    write_benchmark(tmp_path / "figure2/H1.tsv", 30.0, 700, "NA")
    df = stage_costs(tmp_path).set_index("stage")
    assert list(df.index) == ["figure2", "table1"]
    assert df.loc["table1"].tolist() == [2, 30.0, 28.5, 500]
    assert df.loc["figure2", "jobs"] == 1 and pd.isna(df.loc["figure2", "cpu_s"])


def test_stage_costs_names_an_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        stage_costs(tmp_path)


def test_mnist_runtime_grows_with_depth_and_bounds_the_measured_epoch():
    # Measured: 16-layer H2, one epoch of 60 000 images with evaluation, 1 thread: 189 s;
    # MS1 costs 1.5× per layer.
    assert mnist_runtime_min(16, 1) * 60 >= 1.5 * 189
    assert mnist_runtime_min(0, 10) < mnist_runtime_min(2, 10) < mnist_runtime_min(16, 10)

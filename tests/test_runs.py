"""hdnn.runs: where the notebooks look for results, and what they say when nothing is there."""

import pytest

from hdnn import runs


def test_results_dir_is_relative_to_the_repository_root(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)   # a notebook runs in notebooks/, not the root
    monkeypatch.setenv("HDNN_RESULTS", "results/smoke")
    assert runs.results_dir() == runs.ROOT / "results" / "smoke"
    monkeypatch.setenv("HDNN_RESULTS", str(tmp_path))
    assert runs.results_dir() == tmp_path
    assert runs.report_dir() == runs.ROOT / "paper"   # no <results>/paper: the committed report
    (tmp_path / "paper").mkdir()
    assert runs.report_dir() == tmp_path / "paper"


def test_require_names_the_missing_results_and_the_target(monkeypatch, tmp_path):
    monkeypatch.setenv("HDNN_RESULTS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"no Table 1 under .*table1.csv: run `snakemake --cores all T`"):
        runs.require(tmp_path / "tables" / "table1.csv", "Table 1", "T")
    with pytest.raises(FileNotFoundError, match=f"no Figure 2 runs under {tmp_path}"):
        runs.require([], "Figure 2 runs", "gradients")
    assert runs.require([tmp_path], "x", "y") == [tmp_path]

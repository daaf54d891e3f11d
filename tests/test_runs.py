"""hdnn.runs: the paper's numbers as docs/paper.md states them, where the notebooks look for
results, and what they say when nothing is there."""

import re
from pathlib import Path

import pytest

from hdnn import runs
from hdnn.runs import paper_values

PAPER_MD = Path(__file__).resolve().parents[1] / "docs" / "paper.md"   # the paper, restated


def reference_table(title):
    lines = PAPER_MD.read_text().split(f"## {title}")[1].split("\n## ")[0].splitlines()
    return [[c.strip() for c in l.strip("|").split("|")] for l in lines if l.startswith("| ")][1:]


def test_paper_values_equal_docs_paper_md():
    t1 = paper_values()["table1"]
    rows = reference_table("Table 1")
    assert len(rows) == 8
    for row in rows:
        dataset = {"Swiss roll": "swiss_roll", "Double moons": "double_moons"}[row[0]]
        ours = t1[dataset][int(row[1])]
        assert [ours[a] for a in ("MS1", "MS2", "MS3", "H1", "H2")] == [float(v) for v in row[2:]]
    t2 = paper_values()["table2"]
    rows = reference_table("Table 2")
    assert len(rows) == 5
    for row in rows:
        d = int(row[0])
        assert [t2["MS1"][d]["train"], t2["MS1"][d]["test"], t2["H2"][d]["train"],
                t2["H2"][d]["test"]] == [float(v) for v in row[1:]]


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


def test_run_paths_are_the_ones_the_readme_asks_for():
    assert runs.cell_run("results", "table1", "paper", "swiss_roll", "H1", 64, 0) == \
        "results/runs/table1/paper/swiss_roll/H1/depth64/seed0/metrics.json"
    assert runs.mnist_run("results", "table2", "paper", "H2", 4, 0) == \
        "results/runs/table2/paper/H2/depth4/seed0/metrics.json"
    assert runs.figure2_run("results", "H1-TI", 3, "norms.csv.gz") == "results/runs/figure2/H1-TI/seed3/norms.csv.gz"
    readme = (runs.ROOT / "README.md").read_text()
    assert runs.cell_run(".venv/bin/snakemake --cores 1 results", "table1", "paper", "swiss_roll", "H1", 64, 0) in readme


def test_a_path_outside_every_run_folder_is_matched_and_named():
    grid = [runs.cell_run("r", "table1", p, "swiss_roll", a, d, i) for p in ("code", "paper")
            for a in ("H1", "MS1") for d in (4, 16) for i in range(2)]
    pattern = re.compile(runs.runs_pattern(grid, "r/runs/"))
    inside = [p[len("r/runs/"):] for p in grid] + ["table1/code/swiss_roll/H1/depth4/seed0/model.pt"]
    outside = ["table1/code/swiss_roll/H1/depth8/seed0/metrics.json", "table1/code/swiss_roll/H1/depth4/seed2/metrics.json",
               "table1/tuned/swiss_roll/H1/depth4/seed0/metrics.json", "table2/paper/H2/depth4/seed0/metrics.json",
               "table1/code/swiss_roll/H1/depth4/metrics.json"]
    assert not [p for p in inside if pattern.fullmatch(p)] and all(pattern.fullmatch(p) for p in outside)
    assert runs.unknown_run("r/runs/" + outside[0], grid) == (
        f"r/runs/{outside[0]}: no run of this config has 'depth8' after r/runs/table1/code/swiss_roll/H1/; "
        "it has depth4, depth16")
    assert runs.unknown_run(grid[0], grid) is None

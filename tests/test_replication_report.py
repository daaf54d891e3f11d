"""paper/replication.md is a pure function of the committed paper/data and the config: rebuilt
here byte for byte, so no number in it was edited by hand; and the two steps on synthetic runs."""

import ast
import os
import re
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from conftest import NO_TORCH
from hdnn.provenance import write_json
from hdnn.confirmatory import read_records
from hdnn.collect import (STAGES, STATISTICS_FILES, stage_provenance, write_provenance, write_runs_data,
                          write_stage_data, write_statistics)
from hdnn.replication import PROSE, REPORT, render, write_replication
from hdnn.block_params import write_block_params
from hdnn.table1 import read_block_params, write_table1
from hdnn.runs import collect_runs
from hdnn.staleness import MARKER, ROOT

PAPER = ROOT / "paper"


def test_committed_report_rebuilds_from_committed_data(config):
    out = render(PAPER / "data", config)
    for name, text in out.items():
        assert (PAPER / name).read_text() == text, f"{name}: regenerate it (python -m hdnn.replication paper)"
    assert {f"tables/{p.name}" for p in (PAPER / "tables").glob("*.tex")} <= set(out)


def test_committed_statistics_rebuild_from_committed_runs(tmp_path, config):
    """claims.csv, calibration.csv, the checks and per-seed rows the report shows, …: rewritten
    from the committed per-run data, the probes' and the config."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("table1_runs.csv", "table2_runs.csv", "gradients_summary.csv", "table1_tuning_runs.csv",
                 "table1_experiments_runs.csv"):
        if (PAPER / "data" / name).is_file():
            (data / name).write_bytes((PAPER / "data" / name).read_bytes())
    for src in (PAPER / "probes").glob("*/data/*"):
        dst = tmp_path / src.relative_to(PAPER)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(src.read_bytes())
    write_statistics(data, config)
    for name in STATISTICS_FILES:
        assert (data / name).read_text() == (PAPER / "data" / name).read_text(), \
            f"data/{name}: regenerate it (snakemake --cores 1 --allowed-rules paper_statistics -- paper/data/{name})"


# The renderer renders: it imports no collector, no module that tests or chooses, no training code.
FORBIDDEN = {"hdnn.collect", "hdnn.selection", "hdnn.claims", "hdnn.calibration", "hdnn.controls",
             *(f"hdnn.{m}" for m in ("blocks", "data", "train", "settings", "provenance", "gradients",
                                     "fast_block", "cpu", "mnist", "mnist_train"))}


def test_renderer_renders_only():
    source = (ROOT / "src" / "hdnn" / "replication.py").read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    assert not imported & FORBIDDEN
    assert len(source.splitlines()) <= 400
    described = yaml.safe_load((PROSE / "data_files.yaml").read_text())
    assert set(STATISTICS_FILES) <= set(described)   # the report lists every file it is made from


def test_committed_provenance_gathers_the_stages(tmp_path):
    stages = PAPER / "data" / "stages"
    write_provenance(tmp_path, [stages / f"{s}.csv" for s in STAGES], [stages / f"{s}_benchmarks.csv" for s in STAGES])
    for name in ("provenance.csv", "benchmarks.csv"):
        assert (tmp_path / name).read_text() == (PAPER / "data" / name).read_text()


def test_committed_report_carries_the_provenance_markers():
    text = (PAPER / REPORT).read_text()
    stages = pd.read_csv(PAPER / "data" / "provenance.csv")
    with_code = stages[stages["digest"].notna()]
    confirmatory = read_records(PAPER / "data")[1]["train_code_digest"].unique()
    # Table 1 and Figure 2 at least, and the confirmatory runs' (the first screen)
    assert len(MARKER.findall(text)) == len(with_code) + len(confirmatory) >= 3
    for digest in [*with_code["digest"], *confirmatory]:
        assert f"sha256={digest} " in text


def fake_table1_runs(root, protocols=("code",), commit="unknown"):
    paths = []
    for protocol in protocols:
        for dataset, depth in (("swiss_roll", 4), ("double_moons", 1)):
            for arch, acc in (("MS1", 0.8), ("MS2", 0.8), ("MS3", 0.8), ("H1", 0.9), ("H2", 0.9)):
                for s in range(2):
                    p = root / "runs" / protocol / dataset / arch / f"seed{s}" / "metrics.json"
                    write_json(p, {"study": "table1", "setting": protocol, "dataset": dataset,
                                   "arch": arch, "depth": depth, "seed_index": s, "seed": s,
                                   "diverged": False, "train_acc": acc, "train_loss": 0.1,
                                   "test_acc": acc + 0.01 * s, "test_loss": 0.2, "wall_time_s": 30.0,
                                   "git_commit": commit, "versions": {"torch": "2.14.1"},
                                   "config": {"T": 0.8}})
                    paths.append(p)
    return paths


def test_committed_per_run_files_say_which_analysis():
    for name in ("table1_runs.csv", "table2_runs.csv", "table1_experiments_runs.csv", "confirmatory_runs.csv"):
        analysis = set(pd.read_csv(PAPER / "data" / name)["analysis"])
        assert analysis == ({"confirmatory"} if name.startswith("confirmatory") else {"exploratory"}), name


def test_two_steps_on_synthetic_runs(tmp_path, config):
    paths = fake_table1_runs(tmp_path)
    data = tmp_path / "paper" / "data"
    data.mkdir(parents=True)
    tables = tmp_path / "tables"
    tables.mkdir()
    write_block_params(["MS1", "MS2", "MS3", "H1", "H2"], data / "block_params.csv")
    write_table1(collect_runs(paths), tables / "table1.csv", tables / "t.md", tables / "t.tex",
                 data / "table1_cells.csv", read_block_params(data / "block_params.csv"))
    train_code = ["src/hdnn/blocks.py"]
    write_runs_data("table1", tables / "table1.csv", data / "table1_runs.csv")
    stage = data / "stages" / "table1.csv", data / "stages" / "table1_benchmarks.csv"
    write_stage_data(*stage, "table1", paths, train_code, bench_dir=tmp_path / "no-benchmarks")
    first = stage[0].read_bytes()
    write_stage_data(*stage, "table1", paths, train_code, bench_dir=tmp_path / "no-benchmarks")
    assert stage[0].read_bytes() == first           # no clock or HEAD in it: an unchanged stage, the same bytes
    write_provenance(data, [stage[0]], [stage[1]])
    runs = pd.read_csv(data / "table1_runs.csv")
    assert len(runs) == 20 and set(runs["protocol"]) == {"code"} and runs["paper_test_acc"].notna().all()
    assert set(runs["analysis"]) == {"exploratory"}   # the pilot's studies; confirmatory runs say so
    prov = pd.read_csv(data / "provenance.csv").iloc[0]
    assert (prov["runs"], prov["wall_time_s"], prov["seeds_per_cell"]) == (20, 600.0, 2)
    assert prov["digest"] == "none"                  # runs outside git: always stale

    config = {**config, "report_dir": str(tmp_path / "paper")}
    write_statistics(data, config)
    assert all((data / name).is_file() for name in STATISTICS_FILES)
    written = write_replication(tmp_path / "paper", config)
    assert sorted(p.name for p in written) == ["replication.md", "table1.tex"]
    text = (tmp_path / "paper" / REPORT).read_text()
    # H 0.9 against MS 0.8 in every seed: every pair non-inferior.
    assert "Verdicts: `code` **holds**." in text
    assert "MNIST test accuracy" not in text               # no Table 2 claim without its runs
    assert "**Ours: pending.**" in text and "Pending: no paper/data/claims_search.csv" in text
    assert "no Snakemake benchmark files" in text and "training min (summed over runs)" in text
    assert MARKER.findall(text) == [("none", "src/hdnn/blocks.py")]
    assert f"python -m hdnn.replication {tmp_path / 'paper'}" in text    # the configured report_dir

    # Table 2's runs and benchmark files join when they exist.
    t2 = pd.DataFrame([{"protocol": "paper", "column": a, "arch": a, "paper_column": a, "depth": d,
                        "seed_index": s, "diverged": False,
                        "train_acc": 0.99, "test_acc": 0.95 + 0.01 * d / 4, "paper_train_acc": 0.99,
                        "paper_test_acc": 0.98, "wall_time_s": 10.0}
                       for a in ("MS1", "H2") for d in (0, 4) for s in range(2)])
    t2.to_csv(data / "table2_runs.csv", index=False)
    pd.DataFrame([{"job": "table1/x", "stage": "table1", "s": 2.0, "cpu_time": 1.5, "max_rss": 100.0}]).to_csv(
        data / "benchmarks.csv", index=False)
    write_statistics(data, config)
    out = render(data, config)
    assert "tables/table2.tex" in out and r"\toprule" in out["tables/table2.tex"]
    assert "### 3. MNIST test accuracy grows with depth (Table 2)" in out[REPORT]
    assert "- **table2, `paper`**: " in out[REPORT]          # its calibration line
    # Without tuned runs the report says so, with the search's progress from provenance.csv.
    assert "### Protocol `tuned`\n\n**Pending.**" in out[REPORT] and "has 0 of its 36 runs" in out[REPORT]
    assert "| table1 |" in out[REPORT].replace("  ", " ").replace("  ", " ")


def test_seeds_per_cell_counts_table2_columns_apart(tmp_path):
    """MS1 and MS1 trained with H2's settings share an arch but are separate cells."""
    paths = []
    for column in ("MS1", "MS1_with_H2_settings"):
        for i in range(3):
            p = tmp_path / column / f"seed{i}" / "metrics.json"
            write_json(p, {"setting": "paper", "arch": "MS1", "column": column, "depth": 2,
                           "wall_time_s": 1.0, "device": "cpu"})
            paths.append(p)
    assert stage_provenance("Table 2", paths)["seeds_per_cell"] == "3"


def test_the_renderer_reaches_no_collector_chooser_or_torch(tmp_path):
    """replication.py renders paper/data: its imports (lazy ones too) hold no collector, selection,
    claims or module that imports torch, and it renders with torch unimportable."""
    from hdnn.staleness import hdnn_imports
    reached = set(hdnn_imports(ROOT / "src" / "hdnn" / "replication.py"))
    torch_modules = {p.stem for p in (ROOT / "src" / "hdnn").glob("*.py")
                     if re.search(r"^\s*(import torch|from torch)", p.read_text(), re.M)}
    assert not reached & ({"collect", "selection", "claims"} | torch_modules)
    (tmp_path / "sitecustomize.py").write_text(NO_TORCH)
    code = "from hdnn.config_check import load_config; from hdnn.replication import render; render('paper/data', load_config())"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "src")])}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]

"""The notebooks run, as scripts, on what the smoke DAG wrote, and open as notebooks."""

import os
import subprocess
import sys

import jupytext
import pytest

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))


def test_there_are_notebooks_for_both_tables():
    assert {p.name for p in NOTEBOOKS} >= {"table1.py", "table2.py"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_percent_format(path):
    nb = jupytext.read(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) == path.read_text().count("\n# %%\n")
    assert any(c.cell_type == "markdown" for c in nb.cells)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_on_smoke_results(path, smoke_repo):
    env = {**os.environ, "HDNN_RESULTS": str(smoke_repo / "results" / "smoke"), "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(path)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]

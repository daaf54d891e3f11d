"""The notebooks execute (jupytext --execute, a python3 kernel) on what the smoke DAG wrote."""

import os
import subprocess
import sys

import jupytext
import nbformat
import pytest

from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))


def test_there_are_notebooks_for_both_tables_and_figure2():
    assert {p.name for p in NOTEBOOKS} >= {"table1.py", "table2.py", "gradients.py"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_percent_format(path):
    nb = jupytext.read(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) == path.read_text().count("\n# %%\n")
    assert any(c.cell_type == "markdown" for c in nb.cells)
    assert nb.metadata["kernelspec"]["name"] == "python3"  # `jupytext --execute` needs no --set-kernel


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes_on_smoke_results(path, smoke_repo, tmp_path):
    env = {**os.environ, "HDNN_RESULTS": str(smoke_repo / "results" / "smoke")}
    env.pop("MPLBACKEND", None)  # the kernel's own inline backend keeps the figures in the notebook
    out = tmp_path / path.with_suffix(".ipynb").name
    proc = subprocess.run([sys.executable, "-m", "jupytext", "--to", "ipynb", "--execute",
                           "--run-path", str(path.parent), str(path), "-o", str(out)],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    outputs = [o for c in nbformat.read(out, as_version=4).cells for o in c.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the figures were drawn


def test_notebook_without_results_names_what_is_missing(tmp_path):
    env = {**os.environ, "HDNN_RESULTS": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "jupytext", "--to", "ipynb", "--execute",
                           str(ROOT / "notebooks" / "gradients.py"), "-o", str(tmp_path / "out.ipynb")],
                          env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "no Figure 2 runs under" in proc.stderr and "snakemake --cores all gradients" in proc.stderr

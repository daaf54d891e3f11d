"""Every committed figure redrawn here from paper/data alone by the code at HEAD and compared with
the committed file: a changed plotting line without a regenerated figure fails."""

import subprocess
import sys

import pytest
from matplotlib.testing.compare import compare_images

from hdnn import plotting
from hdnn.config_check import load_config
from hdnn.settings import table1_protocols
from hdnn.staleness import ROOT

DATA, FIGURES = ROOT / "paper" / "data", ROOT / "paper" / "figures"
REGENERATE = "make figures"


def drawings():
    config = load_config(ROOT)
    yield "figure1.png", lambda png, pdf: plotting.plot_figure1(
        [DATA / f"figure1_{d}.csv.gz" for d in config["figure1"]["cells"]], config["figure1"]["protocol"], png, pdf)
    yield "figure2.png", lambda png, pdf: plotting.plot_figure2(
        DATA / "figure2.csv.gz", config["figure2"]["protocol"], png, pdf)
    yield "eigenvalues.png", lambda png, pdf: plotting.plot_eigenvalues(DATA / "eigenvalues.csv.gz", png, pdf)
    yield "calibration_ranks.png", lambda png, pdf: plotting.plot_calibration_ranks(
        DATA / "calibration_cells.csv", png, pdf)
    for protocol in table1_protocols(config):
        yield f"table1_{protocol}.png", lambda png, pdf, p=protocol: plotting.plot_table1_seeds(
            DATA / "table1_runs.csv", p, png, pdf)
    yield "table2_seeds.png", lambda png, pdf: plotting.plot_table2_seeds(DATA / "table2_runs.csv", png, pdf)
    yield "confirmatory_forest.png", lambda png, pdf: plotting.plot_confirmatory_forest(
        DATA / "confirmatory_endpoints.csv", png, pdf)


@pytest.mark.parametrize("name,draw", list(drawings()), ids=[n for n, _ in drawings()])
def test_committed_figure_is_what_the_code_draws(name, draw, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)   # the config's chosen settings are relative to the root
    png = tmp_path / name
    draw(str(png), str(png.with_suffix(".pdf")))
    diff = compare_images(str(FIGURES / name), str(png), tol=1)
    assert diff is None, f"{name} differs from what the code draws: {diff}; regenerate it ({REGENERATE})"


def test_every_committed_figure_is_redrawn_here():
    assert {p.name for p in FIGURES.glob("*.png")} == {name for name, _ in drawings()}
    assert {p.stem for p in FIGURES.glob("*.pdf")} == {p.stem for p in FIGURES.glob("*.png")}


def test_drawing_never_loads_torch():
    code = "import sys, hdnn.plotting; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0

"""The committed figures drawn from paper/data alone, redrawn here by the code at HEAD and compared
with the committed files: a changed plotting line without a regenerated figure fails."""

import pytest
from matplotlib.testing.compare import compare_images

from hdnn import plotting
from hdnn.config_check import load_config
from hdnn.settings import table1_protocols
from hdnn.staleness import ROOT

DATA, FIGURES = ROOT / "paper" / "data", ROOT / "paper" / "figures"
REGENERATE = ".venv/bin/snakemake --cores 1 paper/replication.md --allowed-rules paper_statistics " \
             "calibration_figure table_figures replication"


def drawings():
    yield "calibration_ranks.png", lambda png, pdf: plotting.plot_calibration_ranks(
        DATA / "calibration_cells.csv", png, pdf)
    for protocol in table1_protocols(load_config(ROOT)):
        yield f"table1_{protocol}.png", lambda png, pdf, p=protocol: plotting.plot_table1_seeds(
            DATA / "table1_runs.csv", p, png, pdf)
    yield "table2_seeds.png", lambda png, pdf: plotting.plot_table2_seeds(DATA / "table2_runs.csv", png, pdf)


@pytest.mark.parametrize("name,draw", list(drawings()), ids=[n for n, _ in drawings()])
def test_committed_figure_is_what_the_code_draws(name, draw, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)   # the config's chosen settings are relative to the root
    png = tmp_path / name
    draw(str(png), str(png.with_suffix(".pdf")))
    diff = compare_images(str(FIGURES / name), str(png), tol=1)
    assert diff is None, f"{name} differs from what the code draws: {diff}; regenerate it ({REGENERATE})"

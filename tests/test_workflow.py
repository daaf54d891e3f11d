"""The Snakemake DAG end to end on the smoke grid, in a throw-away copy of the repository."""

import json

import pandas as pd
import pytest
import yaml

from conftest import ROOT, copy_repo, run_snakemake


@pytest.fixture(scope="module")
def smoke(smoke_repo):
    return smoke_repo


@pytest.mark.slow
def test_smoke_dag_produces_table1_and_figure1(smoke):
    out = smoke / "results" / "smoke"
    cfg = yaml.safe_load((smoke / "config" / "smoke.yaml").read_text())["table1"]
    df = pd.read_csv(out / "tables" / "table1.csv")
    cells = {(d, n, a) for d, ns in cfg["depths"].items() for n in ns for a in cfg["archs"]}
    for protocol in ("paper", "tuned"):
        sub = df[df.setting == protocol]
        assert set(zip(sub.dataset, sub.depth, sub.arch)) == cells
        assert len(sub) == len(cells) * cfg["n_seeds"]
    assert df.test_acc.between(0, 1).all() and df.train_acc.between(0, 1).all()
    paper = yaml.safe_load((ROOT / "config" / "paper_values.yaml").read_text())["table1"]
    for r in df.itertuples():
        assert r.paper_test_acc == pytest.approx(paper[r.dataset][r.depth][r.arch] / 100)
    md = (out / "tables" / "table1.md").read_text()
    assert "## Protocol `paper`" in md and "## Protocol `tuned`" in md
    assert (out / "figures" / "figure1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "figures" / "figure1.pdf").read_bytes()[:5] == b"%PDF-"
    assert (out / "figures" / "figure1.png").stat().st_size > 10_000
    assert (out / "tables" / "table1_ablation.md").exists()
    assert (out / "tables" / "table1_tuning.md").exists()


@pytest.mark.slow
def test_run_records_carry_provenance(smoke):
    rec = json.loads(next((smoke / "results" / "smoke" / "runs" / "table1").rglob("metrics.json")).read_text())
    for key in ("config", "seed", "versions", "git_commit", "wall_time_s", "test_acc", "loss_curve"):
        assert key in rec
    assert rec["versions"]["torch"].startswith("2.")


@pytest.mark.slow
def test_single_cell_target_builds_only_that_cell(smoke):
    target = "results/smoke/runs/table1/paper/swiss_roll/H1/depth4/seed0/metrics.json"
    (smoke / target).unlink()
    proc = run_snakemake(smoke, target, "--cores", "1", "--configfile", "config/smoke.yaml", "-n")
    jobs = {l.split()[1] for l in proc.stdout.splitlines() if l.startswith("rule ")}
    assert jobs == {"train_table1:"}
    assert "wildcards: setting=paper, dataset=swiss_roll, arch=H1, depth=4" in proc.stdout


def bad_config(repo, text):
    (repo / "bad.yaml").write_text(text)
    return run_snakemake(repo, "-n", "--cores", "1", "--configfile", "bad.yaml", check=False)


def test_schema_rejects_unknown_key_and_architecture(tmp_path):
    repo = copy_repo(tmp_path)
    proc = bad_config(repo, "table1:\n  n_sedes: 3\n")
    assert proc.returncode != 0 and "n_sedes" in proc.stdout + proc.stderr
    proc = bad_config(repo, "table1:\n  archs: [MS1, H3]\n")
    assert proc.returncode != 0 and "H3" in proc.stdout + proc.stderr
    proc = bad_config(repo, "table1:\n  base: {scheme: sgd}\n")
    assert proc.returncode != 0 and "sgd" in proc.stdout + proc.stderr

"""The Snakemake DAG end to end on the smoke grid, in a throw-away copy of the repository."""

import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from conftest import NO_TORCH, ROOT, SMOKE_TARGETS, copy_repo, run_snakemake


@pytest.fixture(scope="module")
def smoke(smoke_repo):
    return smoke_repo


@pytest.mark.slow
def test_smoke_dag_produces_table1_and_figure1(smoke):
    out = smoke / "results" / "smoke"
    cfg = yaml.safe_load((smoke / "config" / "smoke.yaml").read_text())["table1"]
    df = pd.read_csv(out / "tables" / "table1.csv")
    cells = {(d, n, a) for d, ns in cfg["depths"].items() for n in ns for a in cfg["archs"]}
    for protocol in ("code", "paper", "tuned"):
        sub = df[df.protocol == protocol]
        assert set(zip(sub.dataset, sub.depth, sub.arch)) == cells
        assert len(sub) == len(cells) * cfg["n_seeds"]
    assert df.test_acc.between(0, 1).all() and df.train_acc.between(0, 1).all()
    paper = yaml.safe_load((ROOT / "config" / "paper_values.yaml").read_text())["table1"]
    for r in df.itertuples():
        assert r.paper_test_acc == pytest.approx(paper[r.dataset][r.depth][r.arch] / 100)
    md = (out / "tables" / "table1.md").read_text()
    assert all(f"## Protocol `{p}`" in md for p in ("code", "paper", "tuned"))
    cells_csv = pd.read_csv(out / "tables" / "table1_cells.csv")
    assert len(cells_csv) == 3 * len(cells) and set(cells_csv.verdict) <= {"match", "consistent", "off"}
    assert (cells_csv.n == cfg["n_seeds"]).all()
    # No two runs share a seed, across protocols too.
    assert df.seed.nunique() == len(df)
    figures = out / "paper" / "figures"   # report_dir of config/smoke.yaml
    assert (figures / "figure1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (figures / "figure1.pdf").read_bytes()[:5] == b"%PDF-"
    assert (figures / "figure1.png").stat().st_size > 10_000
    assert {p.name for p in (out / "paper" / "data").glob("figure1_*.csv.gz")} == \
        {f"figure1_{d}.csv.gz" for d in yaml.safe_load((smoke / "config" / "smoke.yaml").read_text())["figure1"]["cells"]}
    assert (out / "tables" / "table1_ablation.md").exists()
    assert (out / "tables" / "table1_tuning.md").exists()
    experiments = (out / "tables" / "table1_experiments.md").read_text()
    assert "## `more_epochs`: protocol `code` with epochs = 3" in experiments
    report = (out / "paper" / "table1_report.md").read_text()
    assert "## Provenance" in report and "<!-- training-code sha256=" in report
    assert (out / "paper" / "data" / "table1_cells.csv").read_text() == (out / "tables" / "table1_cells.csv").read_text()


@pytest.mark.slow
def test_smoke_dag_produces_figure2_and_gradients_summary(smoke):
    out = smoke / "results" / "smoke"
    f2 = yaml.safe_load((smoke / "config" / "smoke.yaml").read_text())["figure2"]
    names = [net["name"] for net in f2["networks"]]
    for net in f2["networks"]:
        for i in range(f2["n_seeds"]):
            run = out / "runs" / "figure2" / net["name"] / f"seed{i}"
            rec = json.loads((run / "metrics.json").read_text())
            assert (rec["arch"], rec["depth"], rec["config"]["time_invariant"]) == \
                (net["arch"], net["depth"], net["time_invariant"])
            assert rec["config"]["epochs"] == f2["settings"]["epochs"] and (run / "model.pt").exists()
            norms = pd.read_csv(run / "norms.csv.gz")
            iterations = len(rec["iteration_loss"])
            assert sorted(norms.iteration.unique()) == list(range(iterations))
            # Batch-mean Jacobian on every state y_0..y_N, per-sample kinds on the plotted ℓ.
            per_kind = norms[norms.iteration == 0].groupby("kind")["layer"].apply(list).to_dict()
            assert per_kind == {"mean_jacobian": list(range(net["depth"] + 1)),
                                "per_sample_median": f2["layers"], "per_sample_max": f2["layers"]}
            assert (norms.value > 0).all() and (norms[norms.layer == net["depth"]].value == 1).all()
    summary = pd.read_csv(out / "tables" / "gradients_summary.csv")
    assert list(dict.fromkeys(summary.network)) == names
    assert summary.groupby("network").seed_index.nunique().eq(f2["n_seeds"]).all()
    assert (summary["min"] <= summary["max"]).all()
    ratio = summary.groupby("network").lemma3_ratio.max()
    assert ratio["H1-TI"] < 1e-12 and ratio.drop("H1-TI").isna().all()
    md = (out / "tables" / "gradients_summary.md").read_text()
    assert all(f"| {name} " in md for name in names)
    data = pd.read_csv(out / "paper" / "data" / "figure2.csv.gz")
    assert list(dict.fromkeys(data.network)) == names and set(data.layer) == set(f2["layers"])
    assert (data.seed_index == 0).all()
    eig = pd.read_csv(out / "paper" / "data" / "eigenvalues.csv.gz")
    assert set(eig.network) == {"H1-TI"} and len(eig) == 4 * 400 * f2["n_seeds"]   # nf × test points
    for name in ("figure2", "eigenvalues"):
        assert (out / "paper" / "figures" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out / "paper" / "figures" / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"
        assert (out / "paper" / "figures" / f"{name}.png").stat().st_size > 20_000
    report = (out / "paper" / "figure2_report.md").read_text()
    assert "](figures/figure2.png)" in report and (out / "paper" / "figures" / "eigenvalues.png").exists()


@pytest.mark.slow
def test_smoke_dag_writes_the_replication_report(smoke, monkeypatch):
    from hdnn.config_check import CONFIG_FILES, load_config
    from hdnn.replication import render

    paper = smoke / "results" / "smoke" / "paper"          # report_dir of config/smoke.yaml
    text = (paper / "replication.md").read_text()
    assert "## Claims" in text and "<!-- training-code sha256=" in text
    assert (paper / "tables" / "table1.tex").exists() and (paper / "data" / "table2_runs.csv").exists()
    monkeypatch.chdir(smoke)
    cfg = load_config(smoke, [*CONFIG_FILES, "config/smoke.yaml"])
    assert render(paper / "data", cfg)["replication.md"] == text     # a function of data/ and config


@pytest.mark.slow
def test_the_smoke_certificates_find_their_own_runs_identical(smoke):
    """The certify stage reruns nothing here (the sample is the smoke's own runs) and must read
    every run back exactly as the collector wrote it: each stage's certificate is identical."""
    import pandas as pd

    paper = smoke / "results" / "smoke" / "paper"
    for stage in ("table1", "figure2", "table2", "confirmatory_table2"):
        table = pd.read_csv(paper / "data" / "certificates" / f"{stage}.csv")
        assert set(table["verdict"]) == {"identical"}, table.to_string()
    assert "## table2: identical" in (paper / "certificates.md").read_text()


@pytest.mark.slow
def test_run_records_carry_provenance(smoke):
    rec = json.loads(next((smoke / "results" / "smoke" / "runs" / "table1").rglob("metrics.json")).read_text())
    for key in ("config", "seed", "versions", "git_commit", "wall_time_s", "test_acc", "loss_curve"):
        assert key in rec
    assert rec["versions"]["torch"].startswith("2.")


@pytest.mark.slow
def test_single_cell_target_builds_only_that_cell(smoke):
    target = "results/smoke/runs/table1/paper/swiss_roll/H1/depth4/seed0/metrics.json"
    aside = smoke / "aside.json"
    (smoke / target).rename(aside)
    try:
        proc = run_snakemake(smoke, target, "--cores", "1", "--configfile", "config/smoke.yaml", "-n")
    finally:  # the smoke results are shared with other tests
        aside.rename(smoke / target)
    jobs = {l.split()[1] for l in proc.stdout.splitlines() if l.startswith("rule ")}
    assert jobs == {"train_table1:"}
    assert "wildcards: setting=paper, dataset=swiss_roll, arch=H1, depth=4" in proc.stdout


@pytest.mark.slow
def test_every_file_in_a_run_folder_is_a_declared_output(smoke):
    """metrics.json, model.pt, the norms: each one some rule declares (Snakemake's --list-untracked
    over every smoke stage; benchmarks are not run files)."""
    proc = run_snakemake(smoke, *SMOKE_TARGETS, "--list-untracked", "--configfile", "config/smoke.yaml")
    untracked = [l for l in proc.stdout.splitlines() if l.startswith("results/smoke/runs/")]
    assert not untracked, untracked[:10]
    assert any(p.name == "model.pt" for p in (smoke / "results" / "smoke" / "runs" / "table1").rglob("*"))


@pytest.mark.slow
def test_restyling_a_plot_never_retrains(smoke, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(smoke, repo, symlinks=True)  # copy2 keeps the outputs' times

    plotting = repo / "src" / "hdnn" / "plotting.py"
    plotting.write_text(plotting.read_text() + "\n# restyled\n")  # a touch alone: same checksum
    proc = run_snakemake(repo, "all", "--cores", "1", "--configfile", "config/smoke.yaml", "-n")
    jobs = {l.split()[1].rstrip(":") for l in proc.stdout.splitlines() if l.startswith("rule ")}
    assert {"plot_data_2d", "figure1", "figure2"} <= jobs
    assert not {j for j in jobs if j.startswith("train") or j == "data_2d"}



def test_the_dag_parses_and_checks_its_config_without_torch(tmp_path):
    """A dry run of the whole report imports no training stack (hdnn.catalog holds the grid's names)."""
    (tmp_path / "sitecustomize.py").write_text(NO_TORCH)
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "src")])}
    blocked = subprocess.run([sys.executable, "-c", "import torch"], env={**os.environ, **env}, capture_output=True)
    assert blocked.returncode != 0   # the block works
    proc = run_snakemake(ROOT, "-n", "paper/replication.md", "--quiet", "rules", env=env)
    assert "Exception" not in proc.stderr


@pytest.mark.parametrize("cell, bad, valid", [
    ("table1/paper/swiss_roll/H1/depth0/seed0", "depth0", "depth4, depth8"),
    ("table1/paper/swiss_roll/H9/depth4/seed0", "H9", "H1, H2, MS1, MS2, MS3"),
    ("table1/papr/swiss_roll/H1/depth4/seed0", "papr", "code, paper"),
    ("table2/paper/H2/depth3/seed0", "depth3", "depth0, depth2, depth4, depth8, depth16"),
    ("table2/paper/H2/depth4/seed7", "seed7", "seed0, seed1, seed2")])
def test_a_bad_single_cell_target_fails_before_any_job_naming_the_valid_values(cell, bad, valid, tmp_path):
    proc = run_snakemake(copy_repo(tmp_path), f"results/runs/{cell}/metrics.json", "--cores", "1", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and f"no run of this config has {bad!r}" in out and f"it has {valid}" in out, out[-2000:]
    assert "rule " not in proc.stdout and not (tmp_path / "results").exists()   # no job ran


def test_snakemake_lint_is_clean():
    proc = run_snakemake(ROOT, "--lint", check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]

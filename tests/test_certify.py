"""Certificates (hdnn.certify): a rerun sample decides identical / equivalent / different against
the committed runs, and the config's tolerances are the measured envelopes."""

import math
import subprocess

import pandas as pd
import pytest

from conftest import run_snakemake
from hdnn.certify import STAGES, certify, differences, envelope, sample_problems, summary
from hdnn.config_check import load_config
from hdnn.provenance import write_json
from hdnn.staleness import ROOT, certified

CERTIFICATES = ROOT / "paper" / "data" / "certificates"
KEYS = {"protocol": "code", "dataset": "swiss_roll", "depth": 4, "arch": "H1"}


def committed(test_acc=(0.9, 0.95)):
    return pd.DataFrame([{**KEYS, "seed_index": i, "train_acc": 0.97, "test_acc": a}
                         for i, a in enumerate(test_acc)])


def write_runs(folder, test_acc, capability="AVX512", commit="unknown"):
    """Table 1 run records as the training code writes them (the fields collect_runs reads)."""
    paths = []
    for i, acc in enumerate(test_acc):
        path = folder / f"seed{i}" / "metrics.json"
        write_json(path, {"study": "table1", "setting": "code", "dataset": "swiss_roll", "arch": "H1",
                          "depth": 4, "seed_index": i, "seed": i, "train_acc": 0.97, "test_acc": acc,
                          "config": {}, "git_commit": commit, "versions": {"cpu_capability": capability}})
        paths.append(path)
    return paths


@pytest.mark.parametrize("rerun,verdict", [
    ((0.9, 0.95), "identical"),                  # the same code: the same digits
    ((0.9, 0.95 + 2e-5), "equivalent"),          # rounding: 0.002 points, within 0.01
    ((0.9, 0.9625), "different"),                # a changed constant: 1.25 points
])
def test_the_verdict_follows_the_largest_difference(tmp_path, rerun, verdict):
    from hdnn.certify import rerun_rows
    diffs = differences("table1", committed(), rerun_rows("table1", write_runs(tmp_path, rerun)))
    table = summary(diffs, {"train_acc": 0.01, "test_acc": 0.01})
    assert table.set_index("metric").loc["test_acc", "verdict"] == verdict
    assert table.set_index("metric").loc["train_acc", "verdict"] == "identical"


def test_the_mean_difference_has_its_interval_beside_the_largest(tmp_path):
    from hdnn.certify import rerun_rows
    diffs = differences("table1", committed((0.9, 0.95, 0.8)),
                        rerun_rows("table1", write_runs(tmp_path, (0.901, 0.952, 0.8))))
    row = summary(diffs, {"train_acc": 1.0, "test_acc": 1.0}).set_index("metric").loc["test_acc"]
    assert row["mean_difference"] == pytest.approx(0.1)
    assert row["ci95_low"] < 0.1 < row["ci95_high"] and row["largest_abs_difference"] == pytest.approx(0.2)


def test_a_rerun_without_its_committed_run_is_an_error(tmp_path):
    from hdnn.certify import rerun_rows
    with pytest.raises(ValueError, match="no committed run"):
        differences("table1", committed((0.9,)), rerun_rows("table1", write_runs(tmp_path, (0.9, 0.95))))


def test_records_that_name_the_same_run_are_an_error(tmp_path):
    # A record written into another run's folder (7758818 wrote seed 0's into every seed's) would
    # be compared with one committed run again and again: never identical by mistake.
    from hdnn.certify import rerun_rows
    paths = write_runs(tmp_path, (0.9, 0.95))
    paths[1].write_text(paths[0].read_text())
    with pytest.raises(ValueError, match="name the same run"):
        rerun_rows("table1", paths)


def two_commits(root, n=2):
    """A repository whose training file ``train.py`` has ``n`` meanings, one per commit."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()
    root.mkdir()
    git("init", "-q")
    commits = []
    for value in range(1, n + 1):
        (root / "train.py").write_text(f"X = {value}\n")
        git("add", "train.py")
        git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", f"X = {value}")
        commits.append(git("rev-parse", "HEAD"))
    return commits


@pytest.mark.parametrize("rerun,verdict", [((0.9, 0.96), "identical"), ((0.9, 0.97), "different")])
def test_a_paired_certificate_compares_the_code_change_on_one_machine(tmp_path, rerun, verdict):
    """Committed runs from another CPU (0.95) differ from this machine's baseline at their code
    (0.96): paired, only the code change counts; against the committed runs, the CPU would."""
    old, new = two_commits(tmp_path / "repo")
    committed().assign(test_acc=[0.9, 0.95]).to_csv(tmp_path / "committed.csv", index=False)
    pd.DataFrame([{"git_commit": old, "train_code": "train.py"}]).to_csv(tmp_path / "prov.csv", index=False)
    baseline = write_runs(tmp_path / "baseline", (0.9, 0.96), commit=old)
    reruns = write_runs(tmp_path / "reruns", rerun, commit=new)
    args = ("table1", reruns, tmp_path / "committed.csv", tmp_path / "prov.csv", ["train.py"],
            {"train_acc": 0.0, "test_acc": 0.0}, tmp_path / "out")
    table = certify(*args, root=tmp_path / "repo", baseline=baseline)
    assert table["certificate"].iloc[0] == verdict and table["compared_with"].iloc[0].startswith("baseline")
    assert "baseline" in pd.read_csv(tmp_path / "out" / "table1_runs.csv")
    assert certify(*args, root=tmp_path / "repo")["certificate"].iloc[0] == "different"
    with pytest.raises(ValueError, match="rerun the sample at the committed runs' code"):
        certify(*args, root=tmp_path / "repo", baseline=write_runs(tmp_path / "b2", (0.9, 0.96), commit=new))


def test_a_paired_baseline_may_stand_at_code_the_committed_certificate_carries_the_runs_to(tmp_path):
    """Runs at code 1, carried to code 2 by the certificate committed at HEAD; the baseline at code
    2 and the reruns at code 3 on one machine: a chain, its verdict the worse of the two."""
    repo = tmp_path / "repo"
    old, mid, new = two_commits(repo, 3)
    committed().to_csv(tmp_path / "committed.csv", index=False)
    pd.DataFrame([{"git_commit": old, "train_code": "train.py"}]).to_csv(tmp_path / "prov.csv", index=False)
    args = ("table1", write_runs(tmp_path / "reruns", (0.9, 0.96), commit=new), tmp_path / "committed.csv",
            tmp_path / "prov.csv", ["train.py"], {"train_acc": 0.0, "test_acc": 0.01}, repo / "out")
    baseline = write_runs(tmp_path / "baseline", (0.9, 0.96), commit=mid)
    with pytest.raises(ValueError, match="nor at code that the certificate committed at HEAD"):
        certify(*args, root=repo, baseline=baseline)
    # the certificate that carried the runs from code 1 to code 2 (equivalent), committed
    (repo / "out").mkdir()
    certify("table1", write_runs(tmp_path / "mid", (0.9, 0.95001), commit=mid), *args[2:], root=repo)
    subprocess.run(["git", "add", "out"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "cert"], cwd=repo, check=True)
    table = certify(*args, root=repo, baseline=baseline)
    assert set(table["verdict"]) == {"identical"} and table["certificate"].iloc[0] == "equivalent"
    assert "out/table1.csv (equivalent" in table["baseline_carried_by"].iloc[0]


def test_a_missing_value_is_never_within_tolerance():
    diffs = pd.DataFrame({"metric": ["stall_iteration"] * 2, "scale": ["absolute"] * 2,
                          "difference": [0.0, math.nan]})
    assert summary(diffs, {"stall_iteration": 1e9})["verdict"].iloc[0] == "different"


def test_an_envelope_needs_two_cpu_targets(tmp_path):
    a = write_runs(tmp_path / "a", (0.9, 0.95), "AVX512")
    with pytest.raises(ValueError, match="two"):
        envelope("table1", a, write_runs(tmp_path / "b", (0.9, 0.95), "AVX512"), tmp_path / "e.csv")
    table = envelope("table1", a, write_runs(tmp_path / "c", (0.9, 0.9525), "AVX2"), tmp_path / "e.csv")
    assert table.set_index("metric").loc["test_acc", "largest_abs_difference"] == pytest.approx(0.25)
    # another code's envelope joins the file; the same code's replaces its rows
    envelope("table1", a, write_runs(tmp_path / "d", (0.9, 0.95), "AVX2"), tmp_path / "e.csv", code="old")
    table = envelope("table1", a, write_runs(tmp_path / "c", (0.9, 0.9525), "AVX2"), tmp_path / "e.csv")
    assert sorted(table["code"].unique()) == ["old", "unknown"] and len(table) == 4


def test_every_tolerance_is_its_measured_envelope():
    """A tolerance is the largest difference of its stage's envelope file, never chosen; without
    an envelope it is 0 (only identical reruns certify)."""
    for stage, spec in load_config()["certify"].items():
        path = CERTIFICATES / f"{stage}_envelope.csv"
        measured = pd.read_csv(path).groupby("metric")["largest_abs_difference"].max() if path.is_file() else {}
        for metric in STAGES[stage][2]:
            assert spec["tolerance"][metric] == pytest.approx(measured.get(metric, 0.0), rel=1e-3), (stage, metric)


def test_a_committed_certificate_names_the_digests_it_links():
    for path in sorted(CERTIFICATES.glob("*.csv")) if CERTIFICATES.is_dir() else []:
        if path.stem in STAGES:
            table = pd.read_csv(path)
            assert set(table["metric"]) == set(STAGES[path.stem][2])
            r = table.iloc[0]
            verdict = certified(r["runs_digest"], r["runs_files"].split(","), CERTIFICATES)
            assert (verdict is None) == (r["certificate"] == "different")


def test_the_schema_asks_a_tolerance_for_every_metric_compared():
    import yaml
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    cert = schema["properties"]["certify"]
    for stage, (_, _, metrics) in STAGES.items():
        tol = cert["properties"][stage]["properties"]["tolerance"]
        tol = cert["$defs"][tol["$ref"].rsplit("/", 1)[1]] if "$ref" in tol else tol
        assert sorted(tol["required"]) == sorted(metrics) and tol["additionalProperties"] is False, stage


def test_every_sample_lies_in_its_grid_and_a_stray_one_is_named(config):
    assert not [p for stage in config["certify"] for p in sample_problems(config, stage)]
    config["certify"]["confirmatory"].update(protocols=["tuned", "papr"], networks=["FC", "MS9"],
                                             cells={"swiss_roll": [5]})
    problems = " ".join(sample_problems(config, "confirmatory"))
    assert all(bad in problems for bad in ("'papr'", "'MS9'", "[5]")), problems
    config["certify"]["confirmatory_table2"] = {"seeds": [0, 10], "tolerance": {"train_acc": 0, "test_acc": 0}}
    assert sample_problems(config, "confirmatory_table2") == [
        "config key 'certify.confirmatory_table2.seeds' has [10]: each below the protocol's Table 2 seeds (10)"]


def test_the_confirmatory_sample_is_compared_with_the_committed_runs():
    runs = pd.read_csv(ROOT / "paper" / "data" / STAGES["confirmatory"][0])
    sample = runs[(runs["setting"].isin(["tuned", "figure2_FC"])) & (runs["seed_index"] < 2)]
    moved = sample.assign(test_acc=sample["test_acc"] + 0.001)
    diffs = differences("confirmatory", runs, moved)
    test = diffs[diffs["metric"] == "test_acc"]
    assert len(test) == len(sample) and test["difference"].round(6).eq(0.1).all()
    assert (diffs.loc[diffs["metric"] == "train_acc", "difference"] == 0).all()


def test_the_confirmatory_table2_sample_is_compared_with_the_committed_runs():
    runs = pd.read_csv(ROOT / "paper" / "data" / STAGES["confirmatory_table2"][0])
    sample = runs[runs["seed_index"] == 0]
    moved = sample.assign(train_acc=sample["train_acc"] - 0.002)
    diffs = differences("confirmatory_table2", runs, moved)
    train = diffs[diffs["metric"] == "train_acc"]
    assert len(train) == 10 and train["difference"].round(6).eq(-0.2).all()
    assert (diffs.loc[diffs["metric"] == "test_acc", "difference"] == 0).all()


def test_no_certificate_is_written_while_a_sample_run_still_trains():
    """A certificate is a tracked file: written beside a run still training, that run would record a
    dirty tree. So each stage's certificate waits for every stage's sample (here Table 1's waits
    for Table 2's MNIST runs)."""
    jobs = run_snakemake(ROOT, "-n", "paper/data/certificates/table1.csv", "--quiet", "rules").stdout
    assert "train_table2" in jobs and "confirmatory_table2" in jobs


def test_a_paired_certificate_reads_its_baseline_from_the_configured_results_dir(tmp_path):
    """The baseline's records are the rule's inputs, at the sample's paths under that folder."""
    proc = run_snakemake(ROOT, "-n", "paper/data/certificates/figure2.csv", "--config",
                         f"certify_baseline={{figure2: {tmp_path}}}", check=False)
    assert proc.returncode != 0
    assert f"{tmp_path}/runs/figure2/" in proc.stdout + proc.stderr

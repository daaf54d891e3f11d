"""The confirmatory runs (hdnn.confirmatory): which runs the protocol file asks for, and the check
that each was made under the file as landed."""

import hashlib
import re
import subprocess

import pandas as pd
import pytest

from hdnn import confirmatory as CF
from hdnn.catalog import IDX_FILES
from hdnn.staleness import check as check_reports

from conftest import ROOT, copy_repo, run_snakemake

PROTOCOL = CF.load()


def test_the_runs_are_the_protocols(config):
    assert CF.table1_protocols(PROTOCOL) == ["tuned", "code"]
    cells = CF.control_cells(config, PROTOCOL)
    # Every experiment's changed arm, `paper`'s unchanged rerun on its off cells, no pilot control arm.
    experiments = config["experiments"]["runs"]
    assert set(cells) == {n for n, e in experiments.items() if "control_of" not in e} | {"paper"}
    assert cells["paper"] == experiments["paper_epochs150"]["cells"]
    assert set(CF.figure2_networks(config, PROTOCOL)) == {"figure2_H1", "figure2_H1-TI", "figure2_FC"}


def test_figure2_settings_come_from_the_protocol_file(config):
    changed = {**config, "figure2": {**config["figure2"], "settings": {"epochs": 3}}}
    settings = CF.settings(changed, PROTOCOL, "figure2_H1-TI", "double_moons", "H1")
    assert settings["epochs"] == PROTOCOL["figure2"]["settings"]["epochs"] == 30
    assert settings["time_invariant"] is True and settings["scheme"] == "alternating"
    assert CF.settings(config, PROTOCOL, "code_joint", "swiss_roll", "MS1")["scheme"] == "joint"


def test_a_run_records_the_files_hash(tmp_path):
    path = tmp_path / "protocol.yaml"
    path.write_text("alpha: 0.05\n")
    record = CF.run_record(path)
    assert record["confirmatory_sha256"] == hashlib.sha256(b"alpha: 0.05\n").hexdigest()
    assert record["analysis"] == "confirmatory"


def _git(repo, *args):
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def _commit(repo, text, message):
    (repo / "config").mkdir(exist_ok=True)
    (repo / "config" / "confirmatory.yaml").write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message)
    return _git(repo, "rev-parse", "HEAD")


def test_the_check_wants_the_landed_file_at_a_clean_descendant(tmp_path):
    repo = tmp_path
    _git(repo, "init", "-q")
    draft = _commit(repo, "margin: 1\n", "a draft")
    landed = _commit(repo, "margin: 2\n", "the protocol lands")
    (repo / "other.txt").write_text("x")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "later work")
    later = _git(repo, "rev-parse", "HEAD")
    sha = hashlib.sha256(b"margin: 2\n").hexdigest()
    runs = pd.DataFrame({"git_commit": [later, later, landed, f"{later}+dirty", draft, later],
                         "confirmatory_sha256": [sha, sha, sha, sha, hashlib.sha256(b"margin: 1\n").hexdigest(),
                                                 "0" * 64]})
    check = CF.check_runs(runs, root=repo).set_index(["git_commit", "confirmatory_sha256"])["check"]
    assert check[(later, sha)] == "ok" and check[(landed, sha)] == "ok"
    assert "not a clean commit" in check[(f"{later}+dirty", sha)]
    assert "not its ancestor" in check[(draft, hashlib.sha256(b"margin: 1\n").hexdigest())]
    assert "not the file the runs recorded" in check[(later, "0" * 64)]
    # A change to the file after the runs makes every one of them fail: a new protocol.
    _commit(repo, "margin: 3\n", "the protocol changes")
    assert (CF.check_runs(runs, root=repo)["check"] != "ok").all()


def test_only_checked_runs_are_analysed():
    runs = pd.DataFrame({"git_commit": ["a", "b"], "confirmatory_sha256": ["h", "h"], "group": ["figure2"] * 2,
                         "seed": [1, 2]})
    check = pd.DataFrame({"git_commit": ["a", "b"], "confirmatory_sha256": ["h", "h"], "check": ["ok", "no"]})
    grads = pd.DataFrame({"seed": [1, 1, 2], "min": [1.0, 2.0, 3.0]})
    kept, kept_grads = CF.checked(runs, check, grads)
    assert kept["seed"].tolist() == [1] and kept_grads["min"].tolist() == [1.0, 2.0]


@pytest.mark.parametrize("runs_file, check_file", CF.DATA_FILES)
def test_every_committed_confirmatory_run_passes_the_check(runs_file, check_file):
    data = CF.ROOT / "paper" / "data"
    if not (data / runs_file).is_file():
        pytest.skip(f"{runs_file}: not collected yet")
    runs = pd.read_csv(data / runs_file)
    check = CF.check_runs(runs)
    assert (check["check"] == "ok").all() and check["runs"].sum() == len(runs)
    # The committed check is the one the code makes now.
    committed = pd.read_csv(data / check_file)
    assert committed[["git_commit", "check", "runs"]].values.tolist() == check[["git_commit", "check", "runs"]].values.tolist()
    # ... and the report's marker of their training code is fresh or certified (hdnn.staleness).
    assert not [p for p in check_reports(CF.ROOT / "paper") if "replication.md" in p]
    assert (runs["confirmatory_sha256"] == CF.sha256(CF.ROOT / CF.PROTOCOL)).all()
    # The file landed before the first run started (the committer's clock against the runs').
    landed = _git(CF.ROOT, "log", "-1", "--format=%cI", CF.landing_commit())
    assert pd.Timestamp(landed) < pd.to_datetime(runs["started_utc"]).min()


def test_the_kinds_of_run_are_read_together_and_table2s_may_be_missing(tmp_path):
    for i, (runs_file, check_file) in enumerate(CF.DATA_FILES):
        pd.DataFrame({"group": [CF.GROUPS[0], "table2"][i:i + 1]}).to_csv(tmp_path / runs_file, index=False)
        pd.DataFrame({"check": ["ok"], "kind": [i]}).to_csv(tmp_path / check_file, index=False)
    runs, check = CF.read_records(tmp_path)
    assert runs["group"].tolist() == ["table1", "table2"] and check["kind"].tolist() == [0, 1]
    for name in CF.DATA_FILES[1]:
        (tmp_path / name).unlink()
    runs, check = CF.read_records(tmp_path)
    assert runs["group"].tolist() == ["table1"] and check["kind"].tolist() == [0]


def test_the_pilot_kept_in_resources_is_the_pilot_as_committed():
    commit = PROTOCOL["power"]["pilot_commit"]
    if subprocess.run(["git", "cat-file", "-e", commit], cwd=CF.ROOT, capture_output=True).returncode:
        pytest.skip(f"no git history holding {commit}")
    folder = CF.pilot_data(commit)
    for name in CF.PILOT_FILES:
        committed = subprocess.run(["git", "show", f"{commit}:paper/data/{name}"], cwd=CF.ROOT,
                                   capture_output=True, check=True).stdout
        assert (folder / name).read_bytes() == committed, name


def test_a_missing_pilot_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(CF, "PILOT_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match=r"table1_runs\.csv: missing"):
        CF.pilot_data("0438f16")


@pytest.mark.parametrize("target,setting", [("confirmatory_table2_runs", "tuned"),
                                            ("confirmatory_table2_secondary_runs", "paper")])
def test_table2s_runs_are_ten_seeds_of_ms1_and_h2_at_every_depth(config, target, setting):
    out = run_snakemake(ROOT, "-n", target, "--forceall", "--quiet", "rules").stdout
    assert re.search(r"^confirmatory_table2\s+100$", out, re.M), out
    assert CF.table2_protocols(PROTOCOL) == ["tuned", "paper"]
    assert config["table2"]["archs"] == ["MS1", "H2"] and PROTOCOL["n_seeds"]["table2"] == 10


def test_a_committed_record_without_its_weights_is_not_retrained(tmp_path):
    """`make resume`'s premise: a run whose metrics.json is newer than its inputs is done, though
    its model.pt (not committed) is missing; the other 99 are planned."""
    repo = copy_repo(tmp_path)   # copies keep their old times
    raw = repo / "results" / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in IDX_FILES:
        (raw / name).write_bytes(b"")
    record = repo / "results" / "runs" / "confirmatory" / "tuned" / "mnist" / "H2" / "depth16" / "seed0" / "metrics.json"
    record.parent.mkdir(parents=True)
    record.write_text("{}")
    out = run_snakemake(repo, "-n", "confirmatory_table2_runs", "--quiet", "rules").stdout
    assert re.search(r"^confirmatory_table2\s+99$", out, re.M), out


def test_a_smoke_cap_lowers_the_seeds_and_mnist_runs_are_table2():
    assert CF.n_seeds({"confirmatory_max_seeds": None}, PROTOCOL) == PROTOCOL["n_seeds"]
    assert set(CF.n_seeds({"confirmatory_max_seeds": 1}, PROTOCOL).values()) == {1}
    assert CF.group_of(PROTOCOL, "tuned", "mnist") == "table2"
    assert CF.group_of(PROTOCOL, "tuned", "swiss_roll") == "table1"

"""The committed reports were made by the training code at HEAD (hdnn.staleness), and the check
catches a report that was not."""

import subprocess

import pytest

from hdnn.provenance import write_json
from hdnn.staleness import ROOT, check, code_digest, provenance_lines

CHECKED_REPORTS = ("table1_report.md", "figure2_report.md", "replication.md")


def test_committed_reports_are_made_by_the_training_code_at_head():
    for name in CHECKED_REPORTS:   # these carry their runs' provenance; a report without it fails
        assert "<!-- training-code sha256=" in (ROOT / "paper" / name).read_text(), name
    assert check(ROOT / "paper") == []


@pytest.fixture()
def repo(tmp_path):
    """A git repository with one training file and one run made at its first commit."""
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)
    git("init", "-q")
    git("config", "user.email", "t@t")
    git("config", "user.name", "t")
    (tmp_path / "train.py").write_text("lr = 0.05\n")
    git("add", "train.py")
    git("commit", "-qm", "one")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True,
                          text=True, check=True).stdout.strip()
    write_json(tmp_path / "run" / "metrics.json", {"git_commit": head, "wall_time_s": 60.0})
    return tmp_path, head


def write_report(root, commit=None):
    if commit:
        write_json(root / "run" / "metrics.json", {"git_commit": commit, "wall_time_s": 60.0})
    lines = provenance_lines([root / "run" / "metrics.json"], ["train.py"], root)
    (root / "paper").mkdir(exist_ok=True)
    (root / "paper" / "report.md").write_text("\n".join(["# report", *lines]))
    return lines


def test_a_report_of_the_current_code_is_fresh(repo):
    root, head = repo
    lines = write_report(root)
    assert head in lines[0] and "1.0 min" in lines[0]
    assert code_digest(["train.py"], head, root) == code_digest(["train.py"], root=root)
    assert check(root / "paper", root) == []


def test_a_change_to_training_code_makes_the_report_stale(repo):
    root, _ = repo
    write_report(root)
    (root / "train.py").write_text("lr = 0.01\n")
    assert "other than HEAD's" in check(root / "paper", root)[0]


@pytest.mark.parametrize("commit", ["0" * 40 + "+dirty", "unknown"])
def test_runs_from_uncommitted_code_are_always_stale(repo, commit):
    root, _ = repo
    write_report(root, commit)
    assert "not all made by one committed training code" in check(root / "paper", root)[0]


@pytest.mark.parametrize("change,fresh", [("README.md", True), ("train.py", False)])
def test_runs_at_several_commits_need_the_same_training_code(repo, change, fresh):
    root, _ = repo
    (root / change).write_text("lr = 0.01\n")
    for args in (["add", change], ["commit", "-qm", "two"]):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)
    second = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                            check=True).stdout.strip()
    write_json(root / "run2" / "metrics.json", {"git_commit": second, "wall_time_s": 1.0})
    lines = provenance_lines([root / "run" / "metrics.json", root / "run2" / "metrics.json"],
                             ["train.py"], root)
    (root / "paper").mkdir()
    (root / "paper" / "report.md").write_text("\n".join(lines))
    problems = check(root / "paper", root)
    assert problems == [] if fresh else "not all made by one committed training code" in problems[0]

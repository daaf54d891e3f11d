"""Seeds and run records (hdnn.provenance)."""

import json
import math
import subprocess

from hdnn.provenance import derive_seed, git_commit, read_json, write_json


def test_derive_seed_is_stable_and_distinct():
    # Pinned: the same value on every machine and Python, or no committed run could be redone
    # (1362268267 is the committed Table 1 run code/swiss_roll/MS1/depth4/seed0's seed).
    assert derive_seed(0, "mnist", "H2", 2, 1) == 804978712
    assert derive_seed(0, "table1", "code", "swiss_roll", "MS1", 4, 0) == 1362268267
    assert derive_seed(0, "mnist", "H2", 2, 1) != derive_seed(0, "mnist", "H2", 2, 2)
    assert derive_seed(0, "a") != derive_seed(1, "a")
    assert 0 <= derive_seed(0, "a") < 2**31


def test_git_commit_is_head_here(monkeypatch):
    monkeypatch.delenv("HDNN_GIT_COMMIT", raising=False)
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert git_commit().split("+")[0] == head


def test_git_commit_outside_git_and_from_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("HDNN_GIT_COMMIT", raising=False)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert git_commit(tmp_path) == "unknown"
    monkeypatch.setenv("HDNN_GIT_COMMIT", "abc123")
    assert git_commit(tmp_path) == "abc123"


def test_write_json_keeps_non_finite_values_valid(tmp_path):
    path = tmp_path / "run" / "metrics.json"
    write_json(path, {"loss": float("nan"), "curve": [1.0, float("inf")]})
    json.loads(path.read_text())  # strict JSON
    rec = read_json(path)
    assert rec["loss"] == "nan" and rec["curve"] == [1.0, "inf"]
    assert not math.isnan(rec["curve"][0])

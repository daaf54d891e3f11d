"""The committed reports were made by the training code at HEAD (hdnn.staleness), and the check
catches a report that was not."""

import subprocess

import pytest

from hdnn.provenance import MNIST_CODE, ROOT, TRAIN_CODE, code_digest, write_json
from hdnn.staleness import check, hdnn_imports, provenance_lines, review

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
    assert "not all made by committed training code" in check(root / "paper", root)[0]


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
    assert problems == [] if fresh else "other than HEAD's" in problems[0]


# -- the digest of meaning: documentation and layout do not count, a constant does -----------------

PY = '''"""Training."""
LR = 0.05  # the authors' rate


def step(x):
    """One step."""
    return x - LR * x
'''
CPP = '''#include <cmath>
// tile of 16 floats
constexpr int T = 16;
float f(float x) { return x - -x; /* twice x */ }
'''


@pytest.mark.parametrize("name,text,edit,same", [
    ("a.py", PY, lambda t: t.replace('"""One step."""', '"""One step of the method (eq. 4)."""'), True),
    ("a.py", PY, lambda t: t.replace("# the authors' rate", "# from their code"), True),
    ("a.py", PY, lambda t: t.replace("return x - LR * x", "return (x -\n            LR * x)"), True),
    ("a.py", PY, lambda t: t.replace('"""Training."""\n', ""), True),
    ("a.py", PY, lambda t: t.replace("0.05", "0.04"), False),
    ("a.py", PY, lambda t: t.replace("x - LR", "x + LR"), False),
    ("a.cpp", CPP, lambda t: t.replace("// tile of 16 floats", "/* the tile:\n 16 floats */"), True),
    ("a.cpp", CPP, lambda t: t.replace("float f(float x) {", "float f(float x)\n{\n   "), True),
    ("a.cpp", CPP, lambda t: t.replace("= 16", "= 8"), False),
    ("a.cpp", CPP, lambda t: t.replace("x - -x", "x --x"), False),
    ("a.cpp", CPP, lambda t: t.replace("#include <cmath>", "#include <math.h>"), False),
])
def test_the_digest_follows_meaning_not_layout(tmp_path, name, text, edit, same):
    (tmp_path / name).write_text(text)
    before = code_digest([name], root=tmp_path)
    (tmp_path / name).write_text(edit(text))
    assert (code_digest([name], root=tmp_path) == before) is same


def test_a_documentation_only_change_keeps_the_report_fresh(repo):
    root, _ = repo
    write_report(root)
    (root / "train.py").write_text('"""The learning rate."""\nlr = 0.05  # the authors\' value\n')
    assert check(root / "paper", root) == []


# -- certificates: runs at another digest accepted only through a certificate to HEAD's ------------

def write_certificate(root, runs_digest, rerun_digest, verdict, files=("train.py",), runs_files=("train.py",)):
    import pandas as pd
    folder = root / "paper" / "data" / "certificates"
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([{"metric": "test_acc", "largest_abs_difference": 0.1, "tolerance": 0.5, "verdict": verdict,
                   "certificate": verdict, "runs_digest": runs_digest, "runs_files": ",".join(runs_files),
                   "rerun_digest": rerun_digest, "files": ",".join(files)}]).to_csv(folder / "stage.csv", index=False)


@pytest.mark.parametrize("verdict,certifies", [("identical", True), ("equivalent", True), ("different", False)])
def test_a_certificate_to_heads_digest_keeps_the_report_fresh(repo, verdict, certifies):
    root, _ = repo
    write_report(root)
    old = code_digest(["train.py"], root=root)
    (root / "train.py").write_text("lr = 0.05 * 1.0\n")
    write_certificate(root, old, code_digest(["train.py"], root=root), verdict)
    problems, notes = review(root / "paper", root)
    assert (problems == [] and "stage.csv: " + verdict in notes[0]) if certifies else \
        "no certificate carries it" in problems[0]


@pytest.mark.parametrize("which", ["runs", "rerun", "runs_files", "later change"])
def test_a_certificate_between_other_digests_or_files_certifies_nothing(repo, which):
    root, _ = repo
    write_report(root)
    old = code_digest(["train.py"], root=root)
    (root / "train.py").write_text("lr = 0.01\n")
    new = code_digest(["train.py"], root=root)
    write_certificate(root, "0" * 64 if which == "runs" else old, "0" * 64 if which == "rerun" else new,
                      "equivalent", runs_files=("train.py", "other.py") if which == "runs_files" else ("train.py",))
    if which == "later change":   # HEAD moved on after the certificate: it certifies nothing now
        (root / "train.py").write_text("lr = 0.02\n")
    assert "no certificate carries it" in check(root / "paper", root)[0]


def test_a_certificate_covers_a_module_that_joined_the_training_code(repo):
    """The committed runs' digest is over the files their report names; the reruns' over today's."""
    root, _ = repo
    write_report(root)
    old = code_digest(["train.py"], root=root)
    (root / "train.py").write_text("from cpu import FLAGS\nlr = 0.05\n")
    (root / "cpu.py").write_text("FLAGS = ('avx2',)\n")
    write_certificate(root, old, code_digest(["cpu.py", "train.py"], root=root), "equivalent",
                      files=("train.py", "cpu.py"))
    assert check(root / "paper", root) == []
    (root / "cpu.py").write_text("FLAGS = ('avx512f',)\n")     # the new module changes: stale again
    assert "no certificate carries it" in check(root / "paper", root)[0]


@pytest.mark.parametrize("module, code", [("train", TRAIN_CODE), ("mnist_train", MNIST_CODE)])
def test_the_training_code_holds_every_module_its_training_module_imports(module, code):
    """A change to any module a run's training imports changes the digest and reruns the runs."""
    missing = {f"src/hdnn/{m}.py" for m in [module, *hdnn_imports(ROOT / "src" / "hdnn" / f"{module}.py")]} - set(code)
    assert not missing, f"add {sorted(missing)} to hdnn.provenance's list"

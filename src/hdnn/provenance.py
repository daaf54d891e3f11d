"""Seeds and run records: every run's JSON carries what is needed to redo it."""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

PACKAGES = ("torch", "torchvision", "numpy", "pandas", "snakemake")
NORMS_FILE = "norms.csv.gz"     # a tracked run's gradient norms (hdnn.train), beside its metrics.json


def derive_seed(base_seed: int, *keys) -> int:
    """A 31-bit seed from a base seed and the keys naming a run (stable across machines)."""
    text = "/".join(str(k) for k in (base_seed, *keys))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") & 0x7FFFFFFF


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    torch = sys.modules.get("torch")  # loaded by every training run; never imported for this
    if torch is not None:
        # The vector instructions torch dispatched to (ATEN_CPU_CAPABILITY lowers it): the
        # certificates' envelope compares two.
        out["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit(cwd: str | Path | None = None) -> str:
    """HEAD's commit, with '+dirty' when the tracked source differs from it; 'unknown' outside git.

    ``HDNN_GIT_COMMIT`` in the environment wins: set it when running an exported copy of a commit
    (``git archive``) on a machine where the checkout, if any, is not the code that runs.
    """
    if os.environ.get("HDNN_GIT_COMMIT"):
        return os.environ["HDNN_GIT_COMMIT"]
    cwd = cwd or Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def _clean(value):
    """JSON has no NaN/inf: store them as strings so a diverged run still writes valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_json(path: str | Path, record: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(_clean(record), indent=1, sort_keys=True) + "\n")
    tmp.replace(path)  # atomic: an interrupted job never leaves a half-written record


def read_json(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())

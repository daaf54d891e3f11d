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
VECTOR_FLAGS = ("avx512f", "avx2", "fma", "sse4_2", "asimd", "sve")  # x86 and ARM vector units


def derive_seed(base_seed: int, *keys) -> int:
    """A 31-bit seed from a base seed and the keys naming a run (stable across machines)."""
    text = "/".join(str(k) for k in (base_seed, *keys))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") & 0x7FFFFFFF


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def cpu_info() -> tuple[str, list[str]]:
    """The CPU's model and all its instruction-set flags (/proc/cpuinfo's first CPU)."""
    info: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    model = info.get("model name") or info.get("Model") or platform.processor() or platform.machine()
    return model, (info.get("flags") or info.get("Features") or "").split()


def cpu_vector_flags() -> list[str]:
    """The vector instruction sets among the CPU's flags, widest first (what a run's speed hinges on)."""
    flags = set(cpu_info()[1])
    return [f for f in VECTOR_FLAGS if f in flags]


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

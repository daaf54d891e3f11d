"""Seeds, run records and the training code: every run's JSON carries what is needed to redo it,
and ``code_digest`` says which code (by meaning) made it."""

from __future__ import annotations

import ast
import hashlib
import json
import math
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

PACKAGES = ("torch", "torchvision", "numpy", "pandas", "snakemake")
NORMS_FILE = "norms.csv.gz"     # a tracked run's gradient norms (hdnn.train), beside its metrics.json

ROOT = Path(__file__).resolve().parents[2]
# The training code of each kind of run: the files whose meaning a report's digest covers, and
# the rule inputs whose change reruns the runs. Each holds its training module and every hdnn
# module that imports (tests/test_staleness.py), the settings that resolve a run's configuration,
# and for MNIST the kernel's source.
TRAIN_CODE = [f"src/hdnn/{f}" for f in ("blocks.py", "catalog.py", "data.py", "train.py", "settings.py",
                                        "provenance.py", "gradients.py")]   # Table 1, its studies, Figure 2
MNIST_CODE = [f"src/hdnn/{f}" for f in ("blocks.py", "catalog.py", "cpu.py", "fast_block.py", "csrc/fused_block.cpp",
                                        "mnist.py", "mnist_train.py", "provenance.py", "settings.py")]   # Table 2


# C and C++ tokens: literals whole, multi-character operators whole (so `a - -b` and `a --b` differ).
_C_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|[A-Za-z_]\w*|\.?\d[\w.]*'
                      r"|->|\+\+|--|<<=|>>=|<<|>>|<=|>=|==|!=|&&|\|\||::|[-+*/%&|^]=|\S")
_C_COMMENT = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|//[^\n]*|/\*.*?\*/', re.S)


def _python_meaning(text: str) -> str:
    """The module without comments, docstrings or formatting: its syntax tree written back."""
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def _c_meaning(text: str) -> str:
    """The token stream without comments; a preprocessor line stays one line (it ends there)."""
    text = _C_COMMENT.sub(lambda m: " " if m.group().startswith("/") else m.group(), text)
    text = text.replace("\\\n", " ")
    lines = (" ".join(_C_TOKEN.findall(line)) for line in text.splitlines())
    out, statement = [], []
    for line in filter(None, lines):
        if line.startswith("#"):
            out += [" ".join(statement), line] if statement else [line]
            statement = []
        else:
            statement.append(line)
    return "\n".join(out + [" ".join(statement)])


MEANING = {".py": _python_meaning, ".c": _c_meaning, ".cc": _c_meaning, ".cpp": _c_meaning, ".h": _c_meaning}


def meaning(name: str, data: bytes) -> bytes:
    """What a training file computes, not how it is written: Python without comments, docstrings
    or formatting; C/C++ without comments or layout; any other file as its bytes."""
    normalise = MEANING.get(Path(name).suffix)
    return normalise(data.decode()).encode() if normalise else data


def code_digest(files: list[str], commit: str | None = None, root: Path = ROOT) -> str:
    """sha256 over the files' paths and meaning (``meaning``): as they are now, or at ``commit``
    (from git). A documentation-only change keeps it; a changed constant changes it."""
    h = hashlib.sha256()
    for name in sorted(files):
        if commit is None:
            data = (root / name).read_bytes()
        else:
            data = subprocess.run(["git", "show", f"{commit}:{name}"], cwd=root, capture_output=True,
                                  check=True).stdout
        h.update(name.encode() + b"\0" + hashlib.sha256(meaning(name, data)).digest())
    return h.hexdigest()


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

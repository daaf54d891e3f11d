"""Are the committed reports made by the training code at HEAD?

A report rule writes, below the report, the commit(s) its runs were made at and a digest of the
training code (the files that are inputs of the training rules) at that commit:

    <!-- training-code sha256=<hex> files=src/hdnn/blocks.py,src/hdnn/data.py,... -->

The digest is of the code's meaning (``hdnn.provenance.meaning``): comments, docstrings and layout do not count.
``check`` recomputes it from the files as they are now and names every report whose runs were
made with other training code, or with uncommitted changes, unless a certificate (hdnn.certify)
shows a rerun sample at HEAD agreeing with them. Usage (CI runs it through
tests/test_staleness.py, the before-stop hook runs the command):

    python -m hdnn.staleness paper
"""

from __future__ import annotations

import argparse
import ast
import csv
import functools
import re
import subprocess
import sys
from pathlib import Path

from hdnn.provenance import ROOT, code_digest
from hdnn.runs import read_record

MARKER = re.compile(r"<!-- training-code sha256=(\S+) files=(\S+) -->")


@functools.lru_cache(maxsize=None)
def _direct_hdnn_imports(path: Path) -> tuple[str, ...]:
    """The hdnn modules one file names in its imports (parsed once per file: every rule asks)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "hdnn":
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("hdnn."):
            names.append(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            names += [a.name.split(".")[1] for a in node.names if a.name.startswith("hdnn.")]
    return tuple(names)


def hdnn_imports(path: str | Path, root: Path = ROOT) -> list[str]:
    """The hdnn modules (names) a Python file imports, directly or through another, lazy imports
    included: the code a rule's script runs, and what a training list must hold."""
    seen: set[str] = set()
    todo = [Path(path)]
    while todo:
        for name in _direct_hdnn_imports(todo.pop()):
            if name not in seen:
                seen.add(name)
                todo.append(root / "src" / "hdnn" / f"{name}.py")
    return sorted(seen)


def training_code_digest(commits, train_code: list[str], root: Path = ROOT) -> str:
    """The training code's digest at the runs' commits, several joined by "+" (each must be HEAD's
    or certified to it); "none" for a dirty tree or a run outside git: a report carrying it is
    always stale."""
    digests = set()
    for c in commits:
        if not re.fullmatch(r"[0-9a-f]{40}", c):
            return "none"
        try:
            digests.add(code_digest(train_code, c, root))
        except (OSError, subprocess.CalledProcessError):
            return "none"
    return "+".join(sorted(digests)) or "none"


def marker(digest: str, train_code: list[str]) -> str:
    """The line ``check`` reads (MARKER)."""
    return f"<!-- training-code sha256={digest} files={','.join(train_code)} -->"


def provenance_lines(metrics_paths, train_code: list[str], root: Path = ROOT) -> list[str]:
    """The report's provenance: runs, their commit(s), wall time and the training-code digest."""
    records = [read_record(p) for p in metrics_paths]
    commits = sorted({r.get("git_commit", "unknown") for r in records})
    wall = sum(r.get("wall_time_s", 0.0) for r in records)
    lines = [f"Runs: {len(records)}, made at commit {', '.join(f'`{c}`' for c in commits)}; "
             f"training time {wall / 60:.1f} min summed over runs. Training code: "
             f"{', '.join(f'`{f}`' for f in train_code)}.", ""]
    return lines + [marker(training_code_digest(commits, train_code, root), train_code), ""]


CERTIFIED = ("identical", "equivalent")   # hdnn.certify's verdicts that carry runs to HEAD


def certified(digest: str, files: list[str], cert_dir: Path, root: Path = ROOT) -> str | None:
    """The certificate (hdnn.certify; its file and verdict) that carries runs made at ``digest`` of
    ``files`` to the training code as it is now (its rerun digest recomputed over its files)."""
    for path in sorted(cert_dir.glob("*.csv")) if cert_dir.is_dir() else []:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        need = {"runs_digest", "runs_files", "rerun_digest", "files", "certificate"}
        if not rows or not need <= set(rows[0]):
            continue
        r = rows[0]
        if (r["runs_digest"], r["runs_files"]) != (digest, ",".join(files)) or r["certificate"] not in CERTIFIED:
            continue
        rerun_files = r["files"].split(",")
        if all((root / f).is_file() for f in rerun_files) and r["rerun_digest"] == code_digest(rerun_files, root=root):
            largest = max(rows, key=lambda row: float(row["largest_abs_difference"]))
            return (f"{path.name}: {r['certificate']} (largest difference "
                    f"{float(largest['largest_abs_difference']):.3g} {largest['metric']}, "
                    f"tolerance {float(largest['tolerance']):.3g})")
    return None


def review(report_dir: str | Path, root: Path = ROOT) -> tuple[list[str], list[str]]:
    """(problems, notes) of the reports in ``report_dir``: a report is fresh when each digest of its
    runs is HEAD's or carried to HEAD's by a certificate in ``report_dir``/data/certificates
    (hdnn.certify); the notes name each certificate used."""
    problems, notes = [], []
    for report in sorted(Path(report_dir).glob("*.md")):
        for digests, files in MARKER.findall(report.read_text()):
            files = files.split(",")
            missing = [f for f in files if not (root / f).is_file()]
            if missing:
                problems.append(f"{report}: training code {missing} is gone: rerun its runs")
                continue
            if digests == "none":
                problems.append(f"{report}: its runs were not all made by committed training code: rerun them")
                continue
            head = code_digest(files, root=root)
            for digest in digests.split("+"):
                if digest == head:
                    continue
                cert = certified(digest, files, Path(report_dir) / "data" / "certificates", root)
                if cert:
                    notes.append(f"{report.name}: runs at {digest[:12]} certified to HEAD by {cert}")
                else:
                    problems.append(f"{report}: made with training code other than HEAD's "
                                    f"({', '.join(files)}) and no certificate carries it to HEAD: "
                                    f"certify it (snakemake certify) or rerun the runs")
    return problems, list(dict.fromkeys(notes))


def check(report_dir: str | Path, root: Path = ROOT) -> list[str]:
    """Problems with the reports in ``report_dir`` (empty: every report is fresh or certified)."""
    return review(report_dir, root)[0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report_dir", nargs="?", default=str(ROOT / "paper"))
    problems, notes = review(ap.parse_args(argv).report_dir)
    for line in notes + problems:
        print(line)
    print(f"{len(problems)} stale report marker(s)" if problems else
          "every report was made by the training code at HEAD or is certified to it")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

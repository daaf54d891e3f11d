"""Are the committed reports made by the training code at HEAD?

A report rule writes, below the report, the commit(s) its runs were made at and a digest of the
training code (the files that are inputs of the training rules) at that commit:

    <!-- training-code sha256=<hex> files=src/hdnn/blocks.py,src/hdnn/data.py,... -->

``check`` recomputes the digest from the files as they are now and names every report whose
runs were made with other training code, or with uncommitted changes. Usage (CI runs it through
tests/test_staleness.py):

    python -m hdnn.staleness paper
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
from pathlib import Path

from hdnn.provenance import read_json

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"<!-- training-code sha256=(\S+) files=(\S+) -->")


def code_digest(files: list[str], commit: str | None = None, root: Path = ROOT) -> str:
    """sha256 over the files' paths and bytes: as they are now, or at ``commit`` (from git)."""
    h = hashlib.sha256()
    for name in sorted(files):
        if commit is None:
            data = (root / name).read_bytes()
        else:
            data = subprocess.run(["git", "show", f"{commit}:{name}"], cwd=root, capture_output=True,
                                  check=True).stdout
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def training_code_digest(commits, train_code: list[str], root: Path = ROOT) -> str:
    """The training code's digest at the runs' commits; "none" for a dirty tree, a run outside
    git, or commits whose training code differs: a report carrying it is always stale."""
    digests = set()
    for c in commits:
        try:
            digests.add(code_digest(train_code, c, root) if re.fullmatch(r"[0-9a-f]{40}", c) else "none")
        except (OSError, subprocess.CalledProcessError):
            digests.add("none")
    return digests.pop() if len(digests) == 1 else "none"


def marker(digest: str, train_code: list[str]) -> str:
    """The line ``check`` reads (MARKER)."""
    return f"<!-- training-code sha256={digest} files={','.join(train_code)} -->"


def provenance_lines(metrics_paths, train_code: list[str], root: Path = ROOT) -> list[str]:
    """The report's provenance: runs, their commit(s), wall time and the training-code digest."""
    records = [read_json(p) for p in metrics_paths]
    commits = sorted({r.get("git_commit", "unknown") for r in records})
    wall = sum(r.get("wall_time_s", 0.0) for r in records)
    lines = [f"Runs: {len(records)}, made at commit {', '.join(f'`{c}`' for c in commits)}; "
             f"training time {wall / 60:.1f} min summed over runs. Training code: "
             f"{', '.join(f'`{f}`' for f in train_code)}.", ""]
    return lines + [marker(training_code_digest(commits, train_code, root), train_code), ""]


def check(report_dir: str | Path, root: Path = ROOT) -> list[str]:
    """Problems with the reports in ``report_dir`` (empty: every report is fresh)."""
    problems = []
    for report in sorted(Path(report_dir).glob("*.md")):
        for digest, files in MARKER.findall(report.read_text()):
            files = files.split(",")
            missing = [f for f in files if not (root / f).is_file()]
            if missing:
                problems.append(f"{report}: training code {missing} is gone: rerun its runs")
            elif digest == "none":
                problems.append(f"{report}: its runs were not all made by one committed training "
                                f"code: rerun them")
            elif digest != code_digest(files, root=root):
                problems.append(f"{report}: made with training code other than HEAD's "
                                f"({', '.join(files)}): rerun the runs and regenerate it")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report_dir", nargs="?", default=str(ROOT / "paper"))
    problems = check(ap.parse_args(argv).report_dir)
    print("\n".join(problems) or "every report was made by the training code at HEAD")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Compare two smoke runs' results folders: every metrics.json and every table, times aside.

    python .ci/slurm/compare_results.py [--subset] LOCAL/results/smoke SLURM/results/smoke
Prints a summary and exits 1 on any difference. --subset: the second folder holds some of the
first's runs (CI's SLURM check), each of which must equal the first's; tables are not compared.
"""

import csv
import json
import re
import sys
from pathlib import Path

# Wall and epoch times, and when a run started (a confirmatory run's started_utc), differ between
# any two runs; everything else must not.
TIME_KEY = re.compile(r"(^|_)(time|utc)(_|$)")


def without_times(record):
    if isinstance(record, dict):
        return {k: without_times(v) for k, v in record.items() if not TIME_KEY.search(k)}
    if isinstance(record, list):
        return [without_times(v) for v in record]
    return record


# ... and the summed training time some markdown tables print ("training time 15 min in all").
TIME_PHRASE = re.compile(rb"training time [\d.]+ min")


def table_without_times(path: Path) -> list[list[str]] | bytes:
    """A CSV's rows without its time columns; any other table's bytes, its time phrases masked."""
    if path.suffix != ".csv":
        return TIME_PHRASE.sub(b"training time ... min", path.read_bytes())
    rows = list(csv.reader(path.read_text().splitlines()))
    keep = [i for i, name in enumerate(rows[0] if rows else []) if not TIME_KEY.search(name)]
    return [[row[i] for i in keep] for row in rows]


def differing_keys(a: dict, b: dict) -> list[str]:
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def compare(left: Path, right: Path, subset: bool = False) -> list[str]:
    problems = []
    kinds = (("metrics.json", "runs/**/metrics.json"),) + (() if subset else (("table", "tables/*"),))
    for label, pattern in kinds:
        other = {p.relative_to(right) for p in right.glob(pattern)}
        files = {p.relative_to(left) for p in left.glob(pattern)}
        if subset:
            files &= other
        problems += [f"only in {left}: {p}" for p in sorted(files - other)]
        problems += [f"only in {right}: {p}" for p in sorted(other - files)]
        same = 0
        for rel in sorted(files & other):
            if label == "table":
                ok = table_without_times(left / rel) == table_without_times(right / rel)
                detail = "contents differ"
            else:
                a, b = (without_times(json.loads((d / rel).read_text())) for d in (left, right))
                ok = a == b
                detail = "keys differ: " + ", ".join(differing_keys(a, b)) if not ok else ""
            if ok:
                same += 1
            else:
                problems.append(f"{rel}: {detail}")
        print(f"{label}: {same} of {len(files | other)} identical")
        if not other:
            problems.append(f"no {label} under {right}")
    return problems


def main(argv: list[str]) -> int:
    subset = argv[:1] == ["--subset"]
    if len(argv) - subset != 2:
        sys.exit(__doc__)
    left, right = map(Path, argv[subset:])
    problems = compare(left, right, subset)
    for p in problems:
        print("DIFFERENT", p)
    print("RESULT:", "the two runs differ" if problems else "the two runs agree")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

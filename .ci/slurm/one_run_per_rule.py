"""One metrics.json per training rule of a DAG: the SLURM check's targets.

    python .ci/slurm/one_run_per_rule.py SNAKEMAKE_ARGS...   (run in the repository copy)
Prints one path per rule whose name starts with "train_" (the rules that go through the queue;
every other rule is local), read from `snakemake --summary`: so no run folder's layout is spelled
here. The first such file of each rule, in the summary's order.
"""

import subprocess
import sys


def main(args: list[str]) -> int:
    out = subprocess.run([sys.executable, "-m", "snakemake", *args, "--summary"], check=True,
                         capture_output=True, text=True).stdout
    first: dict[str, str] = {}
    for line in out.splitlines()[1:]:
        path, _, rule, *_ = line.split("\t")
        if rule.startswith("train_") and path.endswith("metrics.json"):
            first.setdefault(rule, path)
    if not first:
        sys.exit(f"one_run_per_rule: no training rule in the DAG of {' '.join(args)}")
    print("\n".join(first.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

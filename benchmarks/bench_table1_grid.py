"""One protocol's whole Table 1 grid (40 cells × table1.n_seeds runs) through Snakemake, from
scratch in a temporary results folder, and where its wall time goes. Usage (repository root):

    PYTHONPATH=src python benchmarks/bench_table1_grid.py [--protocol paper] [--cores 2]

Prints the wall time, the training time summed over the cells' jobs (from their metrics.json),
and the start-up of one job (a Python process importing torch and hdnn.train), so that
wall × cores − training − jobs × start-up is what Snakemake's scheduling costs.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from hdnn.provenance import read_json

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--protocol", default="paper", choices=["code", "paper", "tuned"])
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args()
    t1 = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())["table1"]
    with tempfile.TemporaryDirectory() as tmp:
        targets = [f"{tmp}/runs/table1/{args.protocol}/{dataset}/{arch}/depth{depth}/seed0/metrics.json"
                   for dataset, depths in t1["depths"].items() for depth in depths for arch in t1["archs"]]
        t = time.perf_counter()
        # Targets first: --config takes every argument after it.
        subprocess.run([sys.executable, "-m", "snakemake", *targets, "--cores", str(args.cores),
                        "--quiet", "all", "--config", f"results_dir={tmp}"],
                       cwd=ROOT, check=True, capture_output=True)
        wall = time.perf_counter() - t
        train = sum(read_json(p)["wall_time_cell_s"] for p in targets)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch, hdnn.train"], check=True)
    startup = time.perf_counter() - t
    n_runs = len(targets) * t1["n_seeds"]
    print(f"protocol {args.protocol}: {len(targets)} jobs, {n_runs} runs, --cores {args.cores}")
    print(f"wall {wall / 60:.2f} min; training summed over jobs {train:.0f} s "
          f"({train / args.cores / wall:.0%} of wall × cores); one job's start-up {startup:.1f} s "
          f"(× {len(targets)} jobs = {startup * len(targets) / args.cores / wall:.0%} of wall × cores)")


if __name__ == "__main__":
    main()

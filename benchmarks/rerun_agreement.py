"""Do runs retrained here agree with the committed ones of the same seed? (reproducibility across
machines: same seed and code, another CPU or build).

    PYTHONPATH=src python benchmarks/rerun_agreement.py [RESULTS]   (default: results)
Compares every Table 1 run under RESULTS/runs/table1 with paper/data/table1_runs.csv, and
RESULTS/tables/gradients_summary.csv (Figure 2's runs) with paper/data/gradients_summary.csv;
prints how many agree exactly, the largest differences and both machines' platform strings.
"""

import sys
from pathlib import Path

import pandas as pd

from hdnn.provenance import read_json
from hdnn.runs import ROOT, collect_runs

DATA = ROOT / "paper" / "data"
KEYS = ["protocol", "dataset", "arch", "depth", "seed_index"]


def main(results: Path) -> None:
    stages = pd.read_csv(DATA / "provenance.csv").set_index("stage")
    paths = sorted((results / "runs" / "table1").rglob("metrics.json"))
    if paths:
        ours = collect_runs(paths).rename(columns={"setting": "protocol"})
        both = ours.merge(pd.read_csv(DATA / "table1_runs.csv"), on=KEYS, suffixes=("", "_committed"))
        here = read_json(paths[0])["versions"]["platform"]
        print(f"Table 1: {len(both)} runs retrained here ({here}) against the committed ones "
              f"(versions: {stages.loc['Table 1', 'versions']})")
        for split in ("train_acc", "test_acc"):
            diff = (both[split] - both[f"{split}_committed"]).abs() * 100
            print(f"  {split}: {int((diff < 1e-4).sum())} of {len(both)} equal to 6 digits, "
                  f"mean |difference| {diff.mean():.3f} points, largest {diff.max():.3f} points")
        cells = both.groupby(KEYS[:-1])[["test_acc", "test_acc_committed"]].mean().mul(100).round(3)
        print(cells.to_string())
    summary = results / "tables" / "gradients_summary.csv"
    if summary.exists():
        ours, committed = pd.read_csv(summary), pd.read_csv(DATA / "gradients_summary.csv")
        same = ours.shape == committed.shape and ours.equals(committed)
        print(f"Figure 2: gradients_summary.csv from the runs retrained here is "
              f"{'identical to' if same else 'different from'} the committed one "
              f"({committed.groupby(['network', 'seed_index']).ngroups} runs; committed runs' versions: "
              f"{stages.loc['Figure 2', 'versions']})")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "results")

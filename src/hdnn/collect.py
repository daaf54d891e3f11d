"""The collector: runs → {report_dir}/data/*.csv, the folder replication.md is rendered from.

Per-seed Table 1 and Table 2 rows, each stage's provenance and benchmark files (data/stages/,
gathered in provenance.csv and benchmarks.csv), then the claims tested on them
(``write_statistics``). One rule per step (workflow/rules/paper.smk); the report
(hdnn.replication) reads nothing else.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from hdnn import calibration as K
from hdnn import claims as C
from hdnn import controls
from hdnn.costs import BENCHMARK_COLUMNS, read_benchmarks
from hdnn.provenance import read_json
from hdnn.runs import collect_runs
from hdnn.staleness import ROOT, training_code_digest

TABLE1_RUN_COLUMNS = ["protocol", "dataset", "depth", "arch", "seed_index", "seed", "diverged",
                      "train_acc", "test_acc", "paper_test_acc", "wall_time_s"]
TABLE2_RUN_COLUMNS = ["protocol", "column", "arch", "paper_column", "depth", "seed_index", "seed",
                      "diverged", "train_acc", "test_acc", "paper_train_acc", "paper_test_acc",
                      "best_epoch_test_acc_selected_on_test", "wall_time_s", "device", "block_path"]
# The files of paper/data and what each holds (the report lists them).
DATA_FILES = {
    "table1_cells.csv": "Table 1 per (protocol, cell): n, mean, sd, min, max (%), the paper's value, the verdict",
    "table1_runs.csv": "Table 1 per run (seed): accuracies in [0, 1], the paper's value, wall time",
    "table1_experiments_runs.csv": "the Table 1 experiments and their control arms per run: test accuracy in [0, 1]",
    "table2_runs.csv": "Table 2 per run (seed): final-epoch accuracies in [0, 1], the paper's values",
    "gradients_summary.csv": "Figure 2 per network, seed and tracked layer: min and max of each norm over training",
    "provenance.csv": "per stage: runs, commits, training-code digest, wall time, seeds, devices, versions "
                      "(from data/stages/)",
    "benchmarks.csv": "per job: Snakemake's benchmark file (seconds, CPU time, peak memory)",
}
# Written from the files above by write_statistics (rule paper_statistics).
STATISTICS_FILES = {
    "claims.csv": "per claim and protocol: verdict, the least favourable unit's estimate and interval, "
                  "margin, units decided each way, seeds that would decide the undecided",
    "claim_tests.csv": "per unit of every claim: estimate, interval, p-values raw and Holm-adjusted, verdict",
    "calibration.csv": "per table and protocol: the paper's single runs against our seeds (outside our "
                       "range, sign test, mean rank, shift with its bootstrap interval)",
    "calibration_cells.csv": "per cell: the paper's value, our seeds' summary, the paper's rank among them",
    "claims_search.csv": "per Table 1 claim and searched setting: the verdict on validation accuracies",
    "controls.csv": "per Table 1 experiment: its effect on the off cells and on its control arm's cells",
}
DATA_FILES.update(STATISTICS_FILES)
# The report's stages: the name in data/stages/NAME.csv → the name provenance.csv gives it, and
# the folder of its jobs' benchmark files under {results_dir}/benchmarks/.
STAGES = {"table1": "Table 1", "table1_experiments": "Table 1 experiments", "table1_tuning": "Table 1 tuning",
          "table1_ablation": "Table 1 ablation", "figure2": "Figure 2", "table2": "Table 2",
          "table2_tuning": "Table 2 tuning"}
STAGE_BENCHMARKS = {"table1": "table1", "table1_experiments": "experiments", "table1_tuning": "tuning",
                    "table1_ablation": "ablation", "figure2": "figure2", "table2": "table2",
                    "table2_tuning": "table2_tuning"}


def read_data(data: Path, name: str) -> pd.DataFrame | None:
    """A file of paper/data, or None where it has not been written."""
    return pd.read_csv(data / name) if (data / name).is_file() else None


def stage_provenance(stage: str, metrics_paths, train_code: list[str] | None = None,
                     root: Path = ROOT) -> dict:
    """One stage's runs: count, commits, training-code digest (when ``train_code``), wall time
    summed over runs, seeds per cell, devices and package versions."""
    records = [read_json(p) for p in metrics_paths]
    commits = sorted({r.get("git_commit", "unknown") for r in records})
    # Table 2's column, not its arch: MS1 trained with H2's settings is a cell of its own.
    per_cell = Counter((r.get("setting"), r.get("dataset"), r.get("column", r.get("arch")), r.get("depth"))
                       for r in records)
    devices = Counter(r.get("device", "cpu") for r in records)
    versions = sorted({", ".join(f"{k} {v}" for k, v in r.get("versions", {}).items()
                                 if k in ("python", "torch", "numpy", "platform")) for r in records})
    seeds = sorted(set(per_cell.values()))
    return {"stage": stage, "runs": len(records), "commits": " ".join(commits),
            "train_code": ",".join(train_code or []),
            "digest": training_code_digest(commits, train_code, root) if train_code else "",
            "wall_time_s": round(sum(r.get("wall_time_s", 0.0) for r in records), 1),
            "seeds_per_cell": "–".join(map(str, (seeds[0], seeds[-1]) if len(seeds) > 1 else seeds)),
            "devices": ", ".join(f"{d} {n}" for d, n in devices.items()),
            "versions": " | ".join(versions)}


def write_runs_data(out_dir: str | Path, table1_csv: str | None = None, table2_csv: str | None = None) -> None:
    """``out_dir``/table1_runs.csv and table2_runs.csv from the table rules' per-run csv files
    (results/tables/table{1,2}.csv)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for src, columns, name in ((table1_csv, TABLE1_RUN_COLUMNS, "table1_runs.csv"),
                               (table2_csv, TABLE2_RUN_COLUMNS, "table2_runs.csv")):
        if src:
            df = pd.read_csv(src).rename(columns={"setting": "protocol"})
            df.reindex(columns=columns).to_csv(out / name, index=False, float_format="%.6g")


EXPERIMENT_RUN_COLUMNS = ["experiment", "dataset", "depth", "arch", "seed_index", "seed", "diverged",
                          "train_acc", "test_acc", "wall_time_s"]


def write_experiment_runs(out_csv: str | Path, metrics_paths) -> None:
    """The Table 1 experiments (and their control arms) per run."""
    df = collect_runs(metrics_paths).rename(columns={"setting": "experiment"})
    df.reindex(columns=EXPERIMENT_RUN_COLUMNS).to_csv(out_csv, index=False, float_format="%.6g")


def write_stage_data(provenance_csv: str | Path, benchmarks_csv: str | Path, stage: str, metrics_paths,
                     train_code: list[str] | None = None, bench_dir: str | Path | None = None,
                     root: Path = ROOT) -> None:
    """One stage (a key of STAGES): its provenance row (``stage_provenance``; no time of its own,
    so an unchanged stage aggregates to the same bytes) and its jobs' Snakemake benchmark files.
    Each stage is aggregated on its own, so rerunning one stage never needs the others' runs."""
    prov = pd.DataFrame([stage_provenance(STAGES[stage], metrics_paths, train_code, root)])
    Path(provenance_csv).parent.mkdir(parents=True, exist_ok=True)
    prov.to_csv(provenance_csv, index=False)
    bench = read_benchmarks(bench_dir or "")
    bench[bench["stage"] == STAGE_BENCHMARKS[stage]].to_csv(benchmarks_csv, index=False)


def write_provenance(out_dir: str | Path, stage_files, benchmark_files) -> None:
    """``out_dir``/provenance.csv and benchmarks.csv: the stages' files, in STAGES' order."""
    out = Path(out_dir)
    pd.concat([pd.read_csv(f) for f in stage_files], ignore_index=True).to_csv(out / "provenance.csv", index=False)
    pd.concat([pd.read_csv(f) for f in benchmark_files], ignore_index=True).reindex(
        columns=BENCHMARK_COLUMNS).to_csv(out / "benchmarks.csv", index=False)


def write_statistics(data_dir: str | Path, layers, spec_path: str | Path = C.SPEC_FILE,
                     paper: dict | None = None, experiments: dict | None = None) -> None:
    """``data_dir``/STATISTICS_FILES from its per-run files, the claims' spec (config/claims.yaml)
    and the config's experiments.runs (their control arms)."""
    data, spec = Path(data_dir), C.load_spec(spec_path)
    t1, t2 = read_data(data, "table1_runs.csv"), read_data(data, "table2_runs.csv")
    summary, tests = C.evaluate(t1, t2, read_data(data, "gradients_summary.csv"), layers, spec, paper)
    boot = spec["calibration"]
    frames = {"claims.csv": summary, "claim_tests.csv": tests,
              "calibration.csv": K.summarize(t1, t2, paper, spec["alpha"], boot["bootstrap_resamples"],
                                             boot["bootstrap_seed"]),
              "calibration_cells.csv": K.cells(t1, t2, paper)}
    frames["claims_search.csv"] = C.robustness(read_data(data, "table1_tuning_runs.csv"), spec)
    exp = read_data(data, "table1_experiments_runs.csv")
    frames["controls.csv"] = controls.effects(
        t1 if t1 is not None else pd.DataFrame(columns=["protocol", *controls.CELL, "test_acc"]),
        exp if exp is not None else pd.DataFrame(columns=["experiment", *controls.CELL, "test_acc"]),
        experiments or {})
    for name, frame in frames.items():
        frame.to_csv(data / name, index=False, float_format="%.6g")

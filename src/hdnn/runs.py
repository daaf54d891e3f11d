"""The run contract, and reading runs back.

Every run is one folder: ``cell_run``, ``figure2_run`` and ``mnist_run`` give its path, and the
rules, collectors and notebooks build paths with them only (the training code writes into the
folder it is given). The folder holds metrics.json (hdnn.provenance.write_json: config, seed,
versions, commit, device, wall time, metrics; written last, so it marks a finished run) and, by
kind, model.pt and norms.csv.gz (hdnn.provenance.NORMS_FILE). Everything that reports on runs reads
them through ``collect_runs``; torch-free, so figures and reports never load the training stack.
The path parts may be Snakemake wildcards ("{setting}") or glob patterns ("*").
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import yaml

from hdnn.provenance import read_json

ROOT = Path(__file__).resolve().parents[2]
METRICS = "metrics.json"
MODEL = "model.pt"   # a run's trained weights, beside its metrics.json (hdnn.train, hdnn.mnist_train)
PAPER_VALUES = ROOT / "config" / "paper_values.yaml"
CLAIMS_FILE = ROOT / "config" / "claims.yaml"
# Probes whose committed summaries the statistics read (config/probes/*.yaml → {report_dir}/probes/NAME/data/).
PROBES = {"paper_protocol_validation": "table1_tuning_runs.csv", "fc_bias_zeros": "gradients_summary.csv"}
RUN_KEYS = ("study", "setting", "dataset", "arch", "depth", "seed_index", "seed", "diverged",
            "train_acc", "train_loss", "test_acc", "test_loss", "val_acc", "val_loss",
            "wall_time_s", "params_per_layer", "device")


def cell_run(results, study, setting, dataset, arch, depth, seed, file: str = METRICS) -> str:
    """A 2-D run (Table 1 and its studies): one seed of a (setting, data set, block, depth) cell."""
    return f"{results}/runs/{study}/{setting}/{dataset}/{arch}/depth{depth}/seed{seed}/{file}"


def figure2_run(results, network, seed, file: str = METRICS) -> str:
    """A Figure 2 run: one seed of a network whose gradient norms were tracked."""
    return f"{results}/runs/figure2/{network}/seed{seed}/{file}"


def mnist_run(results, study, setting, column, depth, seed, file: str = METRICS) -> str:
    """An MNIST run (Table 2 and its search): one seed of a (setting, column, depth) cell."""
    return f"{results}/runs/{study}/{setting}/{column}/depth{depth}/seed{seed}/{file}"


def unknown_run(target: str, runs) -> str | None:
    """Why ``target``, a file in a run folder, is in none of ``runs``' folders: the first part of
    its path that no run has there, with the values the runs have; None when it is one of theirs."""
    folders = {Path(p).parent.parts for p in runs}
    parts = Path(target).parent.parts
    for k, part in enumerate(parts):
        here = {f[k] for f in folders if len(f) > k and f[:k] == parts[:k]}
        if part not in here:
            after = "/".join(parts[:k])
            return (f"{target}: no run of this config has {part!r} after {after}/; "
                    f"it has {', '.join(sorted(here, key=_natural)) or 'nothing there'}")
    return None


def runs_pattern(runs, prefix: str) -> str:
    """A regular expression for the paths under ``prefix`` outside every run folder of ``runs``
    (a trie of the folders, so matching costs the path's length, not the number of runs)."""
    trie: dict = {}
    for p in runs:   # string operations: thousands of paths, each time the workflow is parsed
        node = trie
        for part in p.removeprefix(prefix).split("/")[:-1]:
            node = node.setdefault(part, {})

    def alternatives(node: dict) -> str:
        return "|".join(re.escape(k) + (f"/(?:{alternatives(v)})" if v else "") for k, v in sorted(node.items()))

    return f"(?!(?:{alternatives(trie)})/[^/]+$).+"


def _natural(name: str):
    """depth2 before depth16."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def match_points(table: str, path: str | Path = CLAIMS_FILE) -> float:
    """How close to the paper's value a table's mean is a match, in points (config/claims.yaml)."""
    return float(yaml.safe_load(Path(path).read_text())["match_points"][table])


def paper_values(path: str | Path = PAPER_VALUES) -> dict:
    return yaml.safe_load(Path(path).read_text())


def read_data(data: Path, name: str) -> pd.DataFrame | None:
    """A file of a report's data folder (paper/data), or None where it has not been written."""
    return pd.read_csv(data / name) if (data / name).is_file() else None


class RunRecordError(ValueError):
    """A run's metrics.json that cannot be read: named, with the command that remakes it."""


def read_record(path: str | Path) -> dict:
    """A run's record; a truncated or garbled file (one of hundreds a table reads) names itself."""
    try:
        return read_json(path)
    except ValueError as err:   # JSONDecodeError, UnicodeDecodeError
        raise RunRecordError(f"{path}: not a readable run record ({type(err).__name__}: {err}); "
                             f"remake it with: snakemake --cores all --force {path}") from None


def collect_runs(paths, extra_keys=()) -> pd.DataFrame:
    """One row per run; accuracies in [0, 1]; settings flattened as cfg_* columns."""
    rows = []
    for p in paths:
        rec = read_record(p)
        row = {k: rec.get(k) for k in (*RUN_KEYS, *extra_keys)}
        row.update({f"cfg_{k}": v for k, v in rec["config"].items() if not isinstance(v, list)})
        for ep, ev in rec.get("evals", {}).items():
            row.update({f"epoch{ep}_{k}": v for k, v in ev.items()})
        row["path"] = str(p)
        rows.append(row)
    return pd.DataFrame(rows)


def epoch_columns(df: pd.DataFrame, metric: str) -> dict[int, str]:
    """Per-epoch columns of collect_runs (``epoch3_val_acc``), keyed by epoch."""
    prefix, suffix = "epoch", f"_{metric}"
    return {int(c[len(prefix):-len(suffix)]): c for c in df.columns
            if c.startswith(prefix) and c.endswith(suffix) and c[len(prefix):-len(suffix)].isdigit()}


def results_dir() -> Path:
    """Where the notebooks read the workflow's results: $HDNN_RESULTS (relative to the repository
    root, wherever the notebook runs; ``results/smoke`` after ``make smoke``), else results/."""
    return ROOT / os.environ.get("HDNN_RESULTS", "results")


def report_dir() -> Path:
    """The report folder beside those results: <results>/paper for the smoke grid, else paper/."""
    smoke = results_dir() / "paper"
    return smoke if smoke.is_dir() else ROOT / "paper"


def require(paths, what: str, target: str) -> list[Path]:
    """``paths`` (a list, or one path), or a one-line error naming what is missing and the
    Snakemake target that makes it."""
    found = [paths] if isinstance(paths, Path) else list(paths)
    if not found or not all(p.exists() for p in found):
        where = found[0] if isinstance(paths, Path) else results_dir()
        raise FileNotFoundError(f"no {what} under {where}: run `snakemake --cores all {target}` first, "
                                f"or set HDNN_RESULTS (e.g. results/smoke after `make smoke`)")
    return found

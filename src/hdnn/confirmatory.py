"""The confirmatory runs (config/confirmatory.yaml, docs/confirmatory.md): which runs, with which
settings, what each records, and the check that every one ran under the protocol as landed.

Every run is one folder of study ``confirmatory`` (hdnn.runs.cell_run), its seed derived from
(study, setting, data set, arch, depth, index) as the file's ``seeds.derivation`` says. Settings:
- Table 1's primary and secondary protocols on Table 1's grid (``n_seeds.table1``);
- the control design (``n_seeds.control``): each Table 1 experiment (config/experiments_table1.yaml)
  on its cells, and the unchanged rerun of every protocol that has no confirmatory Table 1 runs
  (``paper``) on its experiments' cells;
- Figure 2's networks as ``figure2_<name>`` on the figure's data set (``n_seeds.figure2``).
Torch-free: the workflow plans with it.
"""

from __future__ import annotations

import hashlib
import logging
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import yaml

from hdnn import settings as S
from hdnn.figure2 import gradients_summary
from hdnn.provenance import git_commit
from hdnn.runs import ROOT, collect_runs, read_data
from hdnn.staleness import training_code_digest

PROTOCOL = "config/confirmatory.yaml"
FIGURE2_PREFIX = "figure2_"
GROUPS = ("table1", "control", "figure2")   # one job per cell, its seeds stacked (Table 2: one per run)
RECORD_KEYS = ("git_commit", "confirmatory_sha256", "analysis", "started_utc")
# The pilot files the analysis reads: paper/data as committed at config power.pilot_commit, kept
# byte for byte under resources/pilot/<commit>/ (a test compares them with git), so later reruns of
# the pilot never move a protocol fixed before its runs and a copy without git history still works.
PILOT_DIR = ROOT / "resources" / "pilot"
PILOT_FILES = ("table1_runs.csv", "table2_runs.csv", "benchmarks.csv", "table1_experiments_runs.csv",
               "gradients_summary.csv")
RUN_COLUMNS = ["analysis", "group", "setting", "dataset", "arch", "depth", "seed_index", "seed", "diverged",
               "train_acc", "test_acc", "wall_time_s", "device", *RECORD_KEYS[:2], "started_utc"]


def load(path: str | Path = PROTOCOL) -> dict:
    return yaml.safe_load(Path(path).read_text())



def pilot_data(commit: str) -> Path:
    """The folder holding paper/data's pilot files as committed at ``commit``."""
    folder = PILOT_DIR / commit
    missing = [name for name in PILOT_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder / missing[0]}: missing; the pilot's files are "
                                f"`git show {commit}:paper/data/<name>` for {', '.join(PILOT_FILES)}")
    return folder


def sha256(path: str | Path = PROTOCOL) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_record(path: str | Path = PROTOCOL) -> dict:
    """The keys a confirmatory run adds to its metrics.json (hdnn.train.run_cell's ``extra_keys``).
    Warns when the checkout is not a clean commit: the record check will exclude the run."""
    commit = git_commit()
    if commit == "unknown" or commit.endswith("+dirty"):
        logging.getLogger(__name__).warning(
            "the checkout is at %s: the record check excludes confirmatory runs made from a tree "
            "that is not a clean commit (a rule writing tracked files, e.g. paper/, while training "
            "runs dirties it too); commit, or run them in a clean worktree", commit)
    return {"analysis": "confirmatory", "confirmatory_sha256": sha256(path),
            "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def table1_protocols(protocol: dict) -> list[str]:
    pp = protocol["primary_protocol"]
    return [pp["table1"], pp["secondary"]["table1"]]


def n_seeds(config: dict, protocol: dict) -> dict[str, int]:
    """Seeds per group: the protocol's, at most config ``confirmatory_max_seeds`` (a smoke grid's;
    a confirmatory endpoint with fewer than the protocol's seeds has no verdict)."""
    cap = config.get("confirmatory_max_seeds")
    return {group: min(n, cap or n) for group, n in protocol["n_seeds"].items()}


def table2_protocols(protocol: dict) -> list[str]:
    """Table 2's protocols in the order they run: the primary, then the secondary as far as the
    budget goes."""
    pp = protocol["primary_protocol"]
    return [pp["table2"], pp["secondary"]["table2"]]


def control_cells(config: dict, protocol: dict) -> dict[str, dict]:
    """Setting → cells (data set → arch → depths) of the control design: every experiment on its
    own cells, then each unchanged protocol without Table 1 runs here on its experiments' cells.
    The pilot's cross-cell control arms (``control_of``, hdnn.controls) are not part of it."""
    runs = {name: run for name, run in config["experiments"]["runs"].items() if "control_of" not in run}
    out = {name: run["cells"] for name, run in runs.items()}
    for name, run in runs.items():
        if run["protocol"] not in table1_protocols(protocol):
            out.setdefault(run["protocol"], run["cells"])
    return out


def figure2_networks(config: dict, protocol: dict) -> dict[str, dict]:
    """Setting (``figure2_<name>``) → the ``figure2.networks`` entry of each network the claims use."""
    return {f"{FIGURE2_PREFIX}{name}": S.figure2_network(config, name)
            for name in protocol["figure2"]["networks"]}


def figure2_config(config: dict, protocol: dict) -> dict:
    """The workflow config with Figure 2's protocol and settings as the protocol file fixes them."""
    f2 = protocol["figure2"]
    return {**config, "figure2": {**config["figure2"], "protocol": f2["protocol"], "settings": f2["settings"]}}


def settings(config: dict, protocol: dict, setting: str, dataset: str, arch: str) -> dict:
    """TrainConfig keyword arguments of one confirmatory cell."""
    if setting.startswith(FIGURE2_PREFIX):
        return S.figure2_settings(figure2_config(config, protocol), setting[len(FIGURE2_PREFIX):])
    if setting in config["experiments"]["runs"]:
        return S.resolve(config, "experiments", setting, dataset, arch)
    return S.protocol_settings(config, setting, dataset, arch)


def group_of(protocol: dict, setting: str, dataset: str) -> str:
    if dataset == "mnist":
        return "table2"
    if setting.startswith(FIGURE2_PREFIX):
        return "figure2"
    return "table1" if setting in table1_protocols(protocol) else "control"


# -- collected: the runs, and Figure 2's norms per run ----------------------------------------------

def runs_frame(paths, protocol: dict) -> pd.DataFrame:
    """One row per confirmatory run (RUN_COLUMNS), accuracies in [0, 1]."""
    df = collect_runs(paths, extra_keys=RECORD_KEYS)
    df["group"] = [group_of(protocol, s, d) for s, d in zip(df["setting"], df["dataset"])]
    return df[RUN_COLUMNS]


# Collected per kind of run, so that Table 2's runs are added without the 2-D groups' records
# (made at 09d3bd3, not kept) being read again: runs and check, each from its own rule.
DATA_FILES = (("confirmatory_runs.csv", "confirmatory_check.csv"),
              ("confirmatory_table2_runs.csv", "confirmatory_table2_check.csv"))


def records(paths, path: str, code: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs (``runs_frame``) and their check (``check_runs``) with the training code's digest at
    each commit (the report's marker, hdnn.staleness)."""
    runs = runs_frame(paths, load(path))
    check = check_runs(runs, path)
    check["train_code"] = ",".join(code)
    check["train_code_digest"] = [training_code_digest([c], code) for c in check["git_commit"]]
    return runs, check


def read_records(data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every kind's runs and check from ``{report_dir}/data``, one frame each."""
    return tuple(pd.concat([read_data(data, files[i]) for files in DATA_FILES], ignore_index=True)
                 for i in (0, 1))


def figure2_gradients(paths, window: int, threshold: float) -> pd.DataFrame:
    """hdnn.figure2.gradients_summary of the Figure 2 runs, networks by their config name."""
    df = gradients_summary(paths, None, window, threshold)
    return df.assign(network=df["network"].str.removeprefix(FIGURE2_PREFIX))


# -- the check: every run made under the landed file ------------------------------------------------

def _git(*args, root: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=root, capture_output=True)


def landing_commit(path: str = PROTOCOL, root: Path = ROOT) -> str:
    """The commit that last changed the protocol file: it landed there."""
    return _git("log", "-1", "--format=%H", "--", path, root=root).stdout.decode().strip()


def check_runs(runs: pd.DataFrame, path: str = PROTOCOL, root: Path = ROOT) -> pd.DataFrame:
    """Per distinct (commit, hash) of the runs: ``check`` is ``ok`` or the reason the runs fail
    (``runs`` has git_commit and confirmatory_sha256 columns)."""
    landed = landing_commit(path, root)
    rows = []
    for (commit, digest), group in runs.groupby(["git_commit", "confirmatory_sha256"], dropna=False):
        at_commit = _git("show", f"{commit}:{path}", root=root)
        if not isinstance(commit, str) or commit == "unknown" or commit.endswith("+dirty"):
            why = f"commit {commit}: not a clean commit"
        elif at_commit.returncode != 0:
            why = f"commit {commit}: has no {path}"
        elif hashlib.sha256(at_commit.stdout).hexdigest() != digest:
            why = f"commit {commit}: its {path} is not the file the runs recorded"
        elif _git("merge-base", "--is-ancestor", landed, commit, root=root).returncode != 0:
            why = f"commit {commit}: the protocol's landing commit {landed[:7]} is not its ancestor"
        else:
            why = "ok"
        rows.append({"git_commit": commit, "confirmatory_sha256": digest, "landing_commit": landed,
                     "runs": len(group), "check": why})
    return pd.DataFrame(rows, columns=["git_commit", "confirmatory_sha256", "landing_commit", "runs", "check"])


def checked(runs: pd.DataFrame, check: pd.DataFrame, gradients: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs (and Figure 2's norms) whose commit and hash pass ``check_runs``: the analysed ones."""
    ok = check.loc[check["check"] == "ok", ["git_commit", "confirmatory_sha256"]].drop_duplicates()
    kept = runs.merge(ok, on=["git_commit", "confirmatory_sha256"])
    keys = kept.loc[kept["group"] == "figure2", ["seed"]].drop_duplicates()
    return kept, gradients.merge(keys, on="seed")

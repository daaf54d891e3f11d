"""Named training settings of each study, resolved from the workflow config.

Studies:
- ``table1``: one setting per protocol. ``code`` and ``paper`` are fixed in the config
  (``table1.protocols``) before any run; ``tuned`` is ``tuning.start``'s protocol with the
  settings the tuning search chose per (data set, arch) on validation data (``table1.tuned``).
- ``tuning``: one setting per combination of ``tuning.grid`` on top of ``tuning.start``, trained
  on 4/5 of the training set and scored on the rest (never the test set).
- ``ablation``: one setting per combination of ``ablation.grid`` on top of ``ablation.start``, a
  diagnostic comparison with the paper's test numbers that feeds no protocol.
- ``experiments``: named changes to one protocol on chosen cells, the runs that explain a cell
  off the paper (``experiments.runs``).
- Figure 2's networks (``figure2_*``) and Table 2's MNIST runs (``table2_*``, ``tuning_*``: the
  ``paper`` protocol, ``tuned`` from its search on a validation split, and the search itself).
Every study derives its own seeds (hdnn.train.run_cell), so no two studies share a run.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import yaml

STUDIES = ("table1", "ablation", "tuning", "experiments")
FIXED_PROTOCOLS = ("code", "paper")   # fixed in the config; `tuned` comes from the search
PROTOCOLS = FIXED_PROTOCOLS + ("tuned",)
_SHORT = {"input_placement": "", "scheme": ""}


def _grid_settings(grid: dict) -> dict[str, dict]:
    keys = list(grid)
    out = {}
    for values in itertools.product(*(grid[k] for k in keys)):
        name = "_".join(f"{_SHORT.get(k, k)}{v}" for k, v in zip(keys, values))
        out[name] = dict(zip(keys, values))
    return out


def load_chosen(path: str | Path, stage: str) -> dict:
    """The settings ``stage`` (the search that writes ``path``) chose; missing, an error naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"chosen-settings file {path} is missing: the tuned protocol reads it; "
                                f"make it with `snakemake --cores all {stage}`")
    chosen = yaml.safe_load(path.read_text()) or {}
    if set(chosen) - {"common", "per_cell", "source"}:
        raise ValueError(f"{path}: unknown keys {sorted(set(chosen) - {'common', 'per_cell', 'source'})}")
    return chosen


def table1_protocols(config: dict) -> list[str]:
    """Table 1's protocols: the fixed ones and ``tuned``, whose settings the tuning stage writes
    (a run of it fails before any job while that file is missing)."""
    return list(config["table1"]["protocols"]) + ["tuned"]


def protocol_settings(config: dict, protocol: str, dataset: str, arch: str) -> dict:
    """TrainConfig keyword arguments of one protocol on one (data set, arch)."""
    t1 = config["table1"]
    if protocol == "tuned":
        chosen = load_chosen(t1["tuned"], "tuning")
        start = protocol_settings(config, config["tuning"]["start"], dataset, arch)
        return {**start, **chosen.get("common", {}),
                **chosen.get("per_cell", {}).get(dataset, {}).get(arch, {})}
    if protocol not in t1["protocols"]:
        raise ValueError(f"protocol={protocol!r} is not allowed: one of "
                         f"{', '.join(list(t1['protocols']) + ['tuned'])}")
    return {**t1["base"], **t1["protocols"][protocol]}


def setting_names(config: dict, study: str) -> list[str]:
    if study == "table1":
        return table1_protocols(config)
    if study in ("ablation", "tuning"):
        return list(_grid_settings(config[study]["grid"]))
    if study == "experiments":
        return list(config["experiments"]["runs"])
    raise ValueError(f"study={study!r} is not allowed: one of {', '.join(STUDIES)}")


def study_cells(config: dict, study: str, setting: str) -> dict[str, dict[str, list[int]]]:
    """dataset → arch → depths a setting of a study runs on: Table 1's grid, the search's depths
    (``tuning.depths``), or an experiment's own cells."""
    t1 = config["table1"]
    if study == "experiments":
        return config["experiments"]["runs"][setting]["cells"]
    depths = config["tuning"].get("depths", t1["depths"]) if study == "tuning" else t1["depths"]
    return {dataset: {arch: ds for arch in t1["archs"]} for dataset, ds in depths.items()}


def n_seeds(config: dict, study: str) -> int:
    return config[study]["n_seeds"]


def resolve(config: dict, study: str, setting: str, dataset: str, arch: str) -> dict:
    """TrainConfig keyword arguments of one cell."""
    if study == "table1":
        return protocol_settings(config, setting, dataset, arch)
    if study == "ablation":
        start = protocol_settings(config, config["ablation"]["start"], dataset, arch)
        return {**start, **_grid_settings(config["ablation"]["grid"])[setting]}
    if study == "tuning":
        start = protocol_settings(config, config["tuning"]["start"], dataset, arch)
        over = _grid_settings(config["tuning"]["grid"])[setting]
        epochs = sorted(config["tuning"]["epochs"])
        return {**start, **over, "validation": True, "epochs": epochs[-1], "eval_epochs": epochs[:-1]}
    if study == "experiments":
        run = config["experiments"]["runs"][setting]
        return {**protocol_settings(config, run["protocol"], dataset, arch), **run["settings"]}
    raise ValueError(f"study={study!r} is not allowed: one of {', '.join(STUDIES)}")


# -- Figure 2: networks trained with their gradient norms tracked -----------------------------------

def figure2_network(config: dict, name: str) -> dict:
    """The ``figure2.networks`` entry called ``name``: arch, depth, time_invariant."""
    nets = {net["name"]: net for net in config["figure2"]["networks"]}
    if name not in nets:
        raise ValueError(f"figure2 network {name!r} is not allowed: one of {', '.join(nets)}")
    return nets[name]


def figure2_settings(config: dict, name: str) -> dict:
    """TrainConfig keyword arguments of a Figure 2 network: its arch's settings in Table 1's
    protocol ``figure2.protocol`` on the figure's data set, then ``figure2.settings``, then the
    network's time_invariant."""
    f2, net = config["figure2"], figure2_network(config, name)
    protocol = protocol_settings(config, f2["protocol"], f2["dataset"], net["arch"])
    return {**protocol, **f2.get("settings", {}), "time_invariant": net["time_invariant"]}


def figure2_tracking(config: dict, name: str) -> dict[str, list[int] | None]:
    """Kind → layers ℓ to track (hdnn.gradients.tracked_records): ``all`` is every state y_0..y_N
    (None), ``plotted`` the figure's ``layers`` that the network has (ℓ <= depth)."""
    f2, depth = config["figure2"], figure2_network(config, name)["depth"]
    plotted = [layer for layer in f2["layers"] if layer <= depth]
    if not plotted:
        raise ValueError(f"figure2.layers={f2['layers']} is not allowed for network {name!r}: "
                         f"none is within its depth {depth}")
    return {kind: None if which == "all" else plotted for kind, which in f2["kinds"].items()}


# -- Table 2 (MNIST): protocols, columns and the tuning search --------------------------------------

TABLE2_PROTOCOLS = ("paper", "tuned")   # tuned: its settings written by the tuning_table2 stage


def table2_columns(config: dict) -> dict[str, dict[str, str]]:
    """Table 2's columns: name → ``arch`` trained and ``settings``, the architecture whose settings
    (and the paper's column) it takes. ``table2.archs`` train with their own; ``table2.cross``
    adds e.g. MS1 with H2's settings."""
    t2 = config["table2"]
    return {**{a: {"arch": a, "settings": a} for a in t2["archs"]}, **t2.get("cross", {})}


def table2_settings(config: dict, protocol: str, column: str) -> dict:
    """MnistConfig keyword arguments of a Table 2 run of ``column`` (an arch or a cross column)."""
    t2 = config["table2"]
    columns = table2_columns(config)
    if column not in columns:
        raise ValueError(f"column={column!r} is not allowed: one of {', '.join(columns)}")
    arch = columns[column]["settings"]
    per_arch = t2["per_arch"]
    if arch not in per_arch:
        raise ValueError(f"arch={arch!r} is not allowed: one with settings in table2.per_arch "
                         f"({', '.join(per_arch)})")
    paper = {**t2["base"], **per_arch[arch], "subset": t2.get("subset"),
             "test_subset": t2.get("test_subset")}
    if protocol == "paper":
        return paper
    if protocol == "tuned":
        chosen = load_chosen(t2["tuned"], "tuning_table2").get("per_cell", {})
        if arch not in chosen:
            raise ValueError(f"arch={arch!r} is not allowed: one tuned in {t2['tuned']} ({', '.join(chosen)})")
        return {**paper, **chosen[arch]}
    raise ValueError(f"protocol={protocol!r} is not allowed: one of {', '.join(TABLE2_PROTOCOLS)}")


def tuning_grid(config: dict) -> dict[str, dict]:
    """Tuning setting name → the grid values it overrides, e.g. ``lr0.01_lr_gamma0.9``."""
    return _grid_settings(config["table2"]["tuning"]["grid"])


def tuning_settings(config: dict, setting: str, arch: str) -> dict:
    """A tuning run: the paper protocol with a grid point, on the validation split, no test set."""
    tu = config["table2"]["tuning"]
    grid = tuning_grid(config)
    if setting not in grid:
        raise ValueError(f"setting={setting!r} is not allowed: one of {', '.join(grid)}")
    return {**table2_settings(config, "paper", arch), **grid[setting], "epochs": tu["epochs"],
            "validation": True, "n_val": tu["n_val"], "test_subset": None}

"""Named training settings of each study, resolved from the workflow config.

Studies: ``table1`` (settings ``paper`` and ``tuned``, read from the chosen-settings files),
``ablation`` (one setting per combination of its grid) and ``tuning`` (one per combination of
T × lr, on top of the paper protocol, with a validation split).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import yaml

STUDIES = ("table1", "ablation", "tuning")
_SHORT = {"input_placement": "", "scheme": ""}


def _grid_settings(grid: dict) -> dict[str, dict]:
    keys = list(grid)
    out = {}
    for values in itertools.product(*(grid[k] for k in keys)):
        name = "_".join(f"{_SHORT.get(k, k)}{v}" for k, v in zip(keys, values))
        out[name] = dict(zip(keys, values))
    return out


def load_chosen(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"chosen-settings file {path} is missing: it is written by the "
                                f"ablation/tuning stages (snakemake --cores all ablation tuning)")
    chosen = yaml.safe_load(path.read_text()) or {}
    if set(chosen) - {"common", "per_cell", "source"}:
        raise ValueError(f"{path}: unknown keys {sorted(set(chosen) - {'common', 'per_cell', 'source'})}")
    return chosen


def paper_common(config: dict) -> dict:
    return load_chosen(config["table1"]["protocols"]["paper"]).get("common", {})


def setting_names(config: dict, study: str) -> list[str]:
    if study == "table1":
        return list(config["table1"]["protocols"])
    if study == "ablation":
        return list(_grid_settings(config["ablation"]["grid"]))
    if study == "tuning":
        return list(_grid_settings(config["tuning"]["grid"]))
    raise ValueError(f"study={study!r} is not allowed: one of {', '.join(STUDIES)}")


def n_seeds(config: dict, study: str) -> int:
    return config[study]["n_seeds"]


def resolve(config: dict, study: str, setting: str, dataset: str, arch: str) -> dict:
    """TrainConfig keyword arguments of one cell."""
    base = dict(config["table1"]["base"])
    if study == "table1":
        chosen = load_chosen(config["table1"]["protocols"][setting])
        return {**base, **chosen.get("common", {}),
                **chosen.get("per_cell", {}).get(dataset, {}).get(arch, {})}
    if study == "ablation":
        return {**base, **_grid_settings(config["ablation"]["grid"])[setting]}
    if study == "tuning":
        over = _grid_settings(config["tuning"]["grid"])[setting]
        epochs = sorted(config["tuning"]["epochs"])
        return {**base, **paper_common(config), **over, "validation": True,
                "epochs": epochs[-1], "eval_epochs": epochs[:-1]}
    raise ValueError(f"study={study!r} is not allowed: one of {', '.join(STUDIES)}")


# -- Figure 2: networks trained with their gradient norms tracked -----------------------------------

def figure2_network(config: dict, name: str) -> dict:
    """The ``figure2.networks`` entry called ``name``: arch, depth, time_invariant."""
    nets = {net["name"]: net for net in config["figure2"]["networks"]}
    if name not in nets:
        raise ValueError(f"figure2 network {name!r} is not allowed: one of {', '.join(nets)}")
    return nets[name]


def figure2_settings(config: dict, name: str) -> dict:
    """TrainConfig keyword arguments of a Figure 2 network: ``figure2.protocol`` (``code``: the
    authors' code's settings, table1.base; ``paper``/``tuned``: its arch's settings in that chosen
    Table 1 protocol on the figure's data set), then ``figure2.settings``, then the network's
    time_invariant."""
    f2, net = config["figure2"], figure2_network(config, name)
    protocol = (dict(config["table1"]["base"]) if f2["protocol"] == "code"
                else resolve(config, "table1", f2["protocol"], f2["dataset"], net["arch"]))
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

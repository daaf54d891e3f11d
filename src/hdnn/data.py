"""The paper's two-class 2-D data sets (section 4.1), generated deterministically.

Settings follow the authors' code as restated in ../shared/paper/REFERENCE.md: 8000 points,
even indices for training and odd indices for testing, inputs zero-padded to ``nf`` features.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

DATASETS = ("swiss_roll", "double_moons")
# Where the two inputs sit in the padded state: the paper's text writes [y0; 0; 0] (coordinates
# 0 and 1), the authors' code uses coordinates 0 and nf - 1.
PLACEMENTS = {"paper": lambda nf: (0, 1), "code": lambda nf: (0, nf - 1)}
PLOT_DOMAINS = {"swiss_roll": ((-1.2, 1.2), (-1.2, 1.2)), "double_moons": ((-2.0, 5.0), (-1.0, 2.0))}


def swiss_roll(n_points: int = 8000) -> tuple[torch.Tensor, torch.Tensor]:
    """Two noise-free spirals, radius 0→1 (label 0) and 0.2→1.2 (label 1), angle 0→4π."""
    half = n_points // 2
    theta = torch.linspace(0, 4 * math.pi, half, dtype=torch.float64)
    r0 = torch.linspace(0.0, 1.0, half, dtype=torch.float64)
    r1 = torch.linspace(0.2, 1.2, half, dtype=torch.float64)
    x = torch.cat([torch.stack([r * torch.cos(theta), r * torch.sin(theta)], 1) for r in (r0, r1)])
    y = torch.cat([torch.zeros(half), torch.ones(half)]).long()
    return x.float(), y


def double_moons(n_points: int = 8000, noise: float = 0.3, seed: int = 0):
    """Four unit half-moons, two interleaved pairs side by side, with uniform noise of width 0.3.

    Our reading of "four half-moons": the classic two-moons pair (upper arc centred at (0, 0),
    label 0; lower arc centred at (1, 0.5), label 1) and a copy shifted by 3 along x, filling the
    paper's plot domain [−2, 5] × [−1, 2]. The noise is uniform in [−w/2, w/2] on each coordinate.
    """
    g = torch.Generator().manual_seed(seed)
    quarter = n_points // 4
    t = torch.rand(4, quarter, generator=g, dtype=torch.float64) * math.pi
    upper = torch.stack([torch.cos(t), torch.sin(t)], -1)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], -1)
    shift = torch.tensor([3.0, 0.0], dtype=torch.float64)
    parts = [upper[0], lower[1], upper[2] + shift, lower[3] + shift]
    x = torch.cat(parts) + noise * (torch.rand(4 * quarter, 2, generator=g, dtype=torch.float64) - 0.5)
    y = torch.tensor([0, 1, 0, 1]).repeat_interleave(quarter)
    return x.float(), y


def make_dataset(name: str, n_points: int = 8000, seed: int = 0) -> dict[str, torch.Tensor]:
    """Raw 2-D inputs and labels split even/odd into train and test."""
    if name == "swiss_roll":
        x, y = swiss_roll(n_points)
    elif name == "double_moons":
        x, y = double_moons(n_points, seed=seed)
    else:
        raise ValueError(f"dataset={name!r} is not allowed: one of {', '.join(DATASETS)}")
    return {"x_train": x[0::2], "y_train": y[0::2], "x_test": x[1::2], "y_test": y[1::2]}


def split_validation(data: dict[str, torch.Tensor], every: int = 5) -> dict[str, torch.Tensor]:
    """For tuning: every ``every``-th training point becomes validation; the test set is dropped
    so that nothing downstream can select on it."""
    keep = torch.ones(len(data["y_train"]), dtype=torch.bool)
    keep[::every] = False
    return {"x_train": data["x_train"][keep], "y_train": data["y_train"][keep],
            "x_val": data["x_train"][~keep], "y_val": data["y_train"][~keep]}


def pad_inputs(x: torch.Tensor, nf: int, placement: str) -> torch.Tensor:
    """Zero-pad 2-D inputs to nf features, the two inputs at the placement's coordinates."""
    if placement not in PLACEMENTS:
        raise ValueError(f"input_placement={placement!r} is not allowed: one of {', '.join(PLACEMENTS)}")
    if nf < 2:
        raise ValueError(f"nf={nf!r} is not allowed: at least 2 to hold the two inputs")
    out = x.new_zeros(x.shape[0], nf)
    out[:, list(PLACEMENTS[placement](nf))] = x
    return out


def save_dataset(data: dict[str, torch.Tensor], path: str | Path) -> None:
    torch.save(data, path)


def load_dataset(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a data file written by ``save_dataset``; a missing or corrupt file is a clear error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} is missing: run the data rule "
                                f"(snakemake {path} --cores 1)")
    try:
        data = torch.load(path, weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise ValueError(f"data file {path} is corrupt ({exc.__class__.__name__}): delete it and "
                         f"rerun the data rule") from None
    keys = {"x_train", "y_train", "x_test", "y_test"}
    if not isinstance(data, dict) or set(data) != keys:
        raise ValueError(f"data file {path} does not hold {sorted(keys)}: delete it and rerun the data rule")
    return data

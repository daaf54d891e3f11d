"""The paper's two-class 2-D data sets (section 4.1), as the authors' generator makes them.

8000 points; a data set is drawn under a seed (the double moons' noise), its points are shuffled
under the same seed, then even indices train and odd indices test. Inputs are zero-padded to
``nf`` features. The layout of the points follows the authors' public generator
(DecodEPFL/HamiltonianNet), which the paper defers to.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from hdnn.catalog import DATASETS
# Where the two inputs sit in the padded state: the paper's text writes [y0; 0; 0] (coordinates
# 0 and 1), the authors' code uses coordinates 0 and nf - 1.
PLACEMENTS = {"paper": lambda nf: (0, 1), "code": lambda nf: (0, nf - 1)}
PLOT_DOMAINS = {"swiss_roll": ((-1.2, 1.2), (-1.2, 1.2)), "double_moons": ((-2.0, 5.0), (-1.0, 2.0))}
MOONS_SHIFT = 2.0     # the second pair of moons sits 2 to the right of the first
MOONS_ARC = 3.14      # the authors' arc length (not π), angles θ_i = 3.14 i / (points per arc)


def swiss_roll(n_points: int = 8000) -> tuple[torch.Tensor, torch.Tensor]:
    """Two noise-free spirals, radius 0→1 (label 0) and 0.2→1.2 (label 1), angle θ_i = 4π i / m
    for i = 0..m−1 (4π itself left out), m = n_points / 2."""
    half = n_points // 2
    theta = 4 * math.pi * torch.arange(half, dtype=torch.float64) / half
    r0 = torch.linspace(0.0, 1.0, half, dtype=torch.float64)
    x = torch.cat([torch.stack([r * torch.cos(theta), r * torch.sin(theta)], 1) for r in (r0, r0 + 0.2)])
    y = torch.cat([torch.zeros(half), torch.ones(half)]).long()
    return x.float(), y


def double_moons(n_points: int = 8000, noise: float = 0.3,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Four half-moons on an even angle grid θ_i = 3.14 i / m (m = n_points / 4), each coordinate
    plus uniform noise of width ``noise``: arc A (cos θ, sin θ), label 0; arc B
    (1 − cos θ, 0.5 − sin θ), label 1; arcs C and D are A and B shifted by 2 along x."""
    quarter = n_points // 4
    t = MOONS_ARC * torch.arange(quarter, dtype=torch.float64) / quarter
    upper = torch.stack([torch.cos(t), torch.sin(t)], -1)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], -1)
    shift = torch.tensor([MOONS_SHIFT, 0.0], dtype=torch.float64)
    x = torch.cat([upper, lower, upper + shift, lower + shift])
    x = x + noise * (torch.rand(4 * quarter, 2, generator=generator, dtype=torch.float64) - 0.5)
    y = torch.tensor([0, 1, 0, 1]).repeat_interleave(quarter)
    return x.float(), y


def make_dataset(name: str, n_points: int = 8000, seed: int = 0) -> dict[str, torch.Tensor]:
    """A data set drawn under ``seed`` (noise, then a shuffle of all points), split even/odd into
    train and test."""
    g = torch.Generator().manual_seed(seed)
    if name == "swiss_roll":
        x, y = swiss_roll(n_points)
    elif name == "double_moons":
        x, y = double_moons(n_points, generator=g)
    else:
        raise ValueError(f"dataset={name!r} is not allowed: one of {', '.join(DATASETS)}")
    perm = torch.randperm(len(y), generator=g)
    x, y = x[perm], y[perm]
    return {"x_train": x[0::2], "y_train": y[0::2], "x_test": x[1::2], "y_test": y[1::2]}


def run_dataset(data_path: str | Path, dataset: str, data_seed: int | None = None) -> dict[str, torch.Tensor]:
    """The data a run trained on: the shared data file, or, for a run that draws its own
    (``data_per_seed``), the set drawn under its ``data_seed``, as large as the file's."""
    data = load_dataset(data_path)
    if data_seed is None:
        return data
    return make_dataset(dataset, n_points=len(data["y_train"]) + len(data["y_test"]), seed=data_seed)


def split_validation(data: dict[str, torch.Tensor], every: int = 5) -> dict[str, torch.Tensor]:
    """For tuning: every ``every``-th training point becomes validation; the test set is dropped
    so that nothing downstream can select on it."""
    keep = torch.ones(len(data["y_train"]), dtype=torch.bool)
    keep[::every] = False
    return {"x_train": data["x_train"][keep], "y_train": data["y_train"][keep],
            "x_val": data["x_train"][~keep], "y_val": data["y_train"][~keep]}


def pad_inputs(x: torch.Tensor, nf: int, placement: str) -> torch.Tensor:
    """Zero-pad 2-D inputs (..., 2) to nf features, the two inputs at the placement's coordinates."""
    if placement not in PLACEMENTS:
        raise ValueError(f"input_placement={placement!r} is not allowed: one of {', '.join(PLACEMENTS)}")
    if nf < 2:
        raise ValueError(f"nf={nf!r} is not allowed: at least 2 to hold the two inputs")
    out = x.new_zeros(*x.shape[:-1], nf)
    out[..., list(PLACEMENTS[placement](nf))] = x
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

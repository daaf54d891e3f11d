"""Gradient norms ‖∂y_N/∂y_ℓ‖₂ of the paper's Figure 2, cheap enough to track during training.

One batched pass gives the Jacobians ∂y_N/∂y_ℓ of every layer ℓ = 0..N for a whole minibatch: the
states y_0..y_N come from one detached trajectory, the per-sample layer Jacobians
A_j = ∂y_{j+1}/∂y_j of all layers are built at once (closed form for H1/H2, torch.func for the
others), and ∂y_N/∂y_ℓ = A_{N−1} ⋯ A_ℓ is accumulated backwards with one product per layer.
Their spectral norms come from LAPACK (the largest eigenvalue of AᵀA, in float64).

Internally matrices are stored batch-last, (..., n, n, T): elementwise work over a long last
dimension is much faster on a CPU than batched matmuls of many 4×4 matrices.

Typical use in a training loop (before ``optimizer.step()``, so that weights and states agree)::

    yN, traj = forward_with_trajectory(block, y0)      # instead of block(y0)
    loss = loss_fn(head(yN), labels)
    rows += norm_records(gradient_norms(block, trajectory=traj, layers=[1, 11, 21]), iteration)

or, each kind on its own layers (as hdnn.train does with ``track``)::

    rows += tracked_records(block, traj, iteration, {"mean_jacobian": None, "per_sample_max": [1, 11]})
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import torch
from torch import Tensor

from hdnn.blocks import Block, HamiltonianEuler

KINDS = ("mean_jacobian", "per_sample_median", "per_sample_max")

# -- states and Jacobians ---------------------------------------------------------------------------

def _check_block(block: Block) -> None:
    if not isinstance(block, Block):
        raise ValueError(f"block of type {type(block).__name__} is not allowed: "
                         "expected a block from hdnn.blocks.make_block")


def _check_y0(block: Block, y0: Tensor) -> None:
    if not isinstance(y0, Tensor) or y0.dim() != 2 or y0.shape[1] != block.nf \
            or y0.shape[0] < 1 or not y0.is_floating_point():
        shape = tuple(y0.shape) if isinstance(y0, Tensor) else type(y0).__name__
        raise ValueError(f"y0 with shape {shape} is not allowed: expected a floating tensor of "
                         f"shape (batch, {block.nf}) (spatial states are not supported)")


def forward_with_trajectory(block: Block, y0: Tensor) -> tuple[Tensor, Tensor]:
    """``block(y0)`` for training, plus the detached states for the tracker.

    Returns ``(yN, trajectory)``: ``yN`` is exactly ``block(y0)``, with the same autograd graph;
    ``trajectory`` (N + 1, batch, nf) holds y_0..y_N without a graph. Cheaper than
    ``block.trajectory(y0)`` in training, whose stacked output puts every state in the backward.
    """
    _check_block(block)
    _check_y0(block, y0)
    states = block.run_channels_last(y0, keep=True)     # (batch, nf) is already channels-last
    with torch.no_grad():
        trajectory = torch.stack(states)
    return states[-1], trajectory


def _states(block: Block, y0: Tensor | None, trajectory: Tensor | None) -> Tensor:
    """Detached states y_0..y_N, shape (N + 1, batch, nf)."""
    _check_block(block)
    if (y0 is None) == (trajectory is None):
        raise ValueError("give exactly one of y0 (batch, nf) and trajectory (depth + 1, batch, nf)")
    if trajectory is None:
        _check_y0(block, y0)
        with torch.no_grad():
            return block.trajectory(y0)
    n, depth = block.nf, block.depth
    if not isinstance(trajectory, Tensor) or trajectory.dim() != 3 \
            or trajectory.shape[0] != depth + 1 or trajectory.shape[1] < 1 \
            or trajectory.shape[2] != n or not trajectory.is_floating_point():
        shape = tuple(trajectory.shape) if isinstance(trajectory, Tensor) else type(trajectory).__name__
        raise ValueError(f"trajectory with shape {shape} is not allowed: expected a floating "
                         f"tensor of shape ({depth + 1}, batch, {n}), e.g. from "
                         "forward_with_trajectory or block.trajectory")
    return trajectory.detach()


def _hamiltonian_step_jacobians(block: HamiltonianEuler, states: Tensor) -> Tensor:
    """Closed form A_j = I + h J Kᵀ diag(σ'(K y_j + b)) K of all layers, shape (N, n, n, batch)."""
    n, depth, batch = block.nf, block.depth, states.shape[1]
    eff = block._effective()
    K, b, J = eff["K"], eff["b"], eff["J"]                     # (1 or N, ...) weight sets
    deriv = 1 - torch.tanh(K @ states[:-1].mT + b[..., None]).square()      # (N, n, batch)
    # A_j[i, l] = δ_il + h Σ_k (J Kᵀ)[i, k] σ'_k K[k, l]: one matmul over k for all (i, l).
    outer = ((J @ K.mT)[:, :, None, :] * K.mT[:, None, :, :]).reshape(-1, n * n, n)
    A = (outer @ deriv).mul_(block.h)                            # (N, n*n, batch)
    A[:, :: n + 1] += 1
    return A.view(depth, n, n, batch)


def _generic_step_jacobians(block: Block, states: Tensor) -> Tensor:
    """A_j of all layers from the block's own layer step by torch.func, shape (N, n, n, batch)."""
    # _step takes one layer's slice of the prepared (stacked) weights, as in run_channels_last.
    prepared = {name: t.detach() for name, t in block._prepare(block._effective()).items()}
    if block.time_invariant:
        weights, weight_dim = {name: t[0] for name, t in prepared.items()}, None
    else:
        weights, weight_dim = prepared, 0
    per_sample = torch.func.vmap(torch.func.jacrev(block._step), in_dims=(0, None))
    A = torch.func.vmap(per_sample, in_dims=(0, weight_dim))(states[:-1], weights)
    return A.permute(0, 2, 3, 1).contiguous()


def _jacobians_batch_last(block: Block, states: Tensor) -> Tensor:
    """∂y_N/∂y_ℓ for ℓ = 0..N, shape (N + 1, n, n, batch)."""
    with torch.no_grad():
        if isinstance(block, HamiltonianEuler):
            A = _hamiltonian_step_jacobians(block, states)
        else:
            A = _generic_step_jacobians(block, states)
        depth, n, _, batch = A.shape
        jac = A.new_empty(depth + 1, n, n, batch)
        jac[depth] = torch.eye(n, dtype=A.dtype, device=A.device)[..., None]
        # jac_ℓ[i, l] = Σ_k jac_{ℓ+1}[i, k] A_ℓ[k, l], as one product and one sum over k; the
        # broadcasting views of every layer are made up front (two ops per layer remain).
        outs, lefts, rights = jac.unbind(0), jac[:, :, :, None].unbind(0), A[:, None].unbind(0)
        product = A.new_empty(n, n, n, batch)
        for layer in reversed(range(depth)):
            torch.mul(lefts[layer + 1], rights[layer], out=product)
            torch.sum(product, 1, out=outs[layer])
        return jac


def layer_jacobians(block: Block, y0: Tensor | None = None, *,
                    trajectory: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Per-sample Jacobians ∂y_N/∂y_ℓ of every layer ℓ = 0..N in one batched pass.

    Give the input ``y0`` (batch, nf), or the ``trajectory`` (N + 1, batch, nf) of the training
    step (:func:`forward_with_trajectory`) to save a forward pass; it must come from the block's
    current weights. Nothing is recorded for autograd.

    Returns ``(yN, jac)``: the output (batch, nf) and ``jac`` (N + 1, batch, nf, nf) with
    ``jac[ℓ, s, i, k] = ∂y_N[i]/∂y_ℓ[k]`` for sample s (``jac[N]`` is the identity).
    """
    states = _states(block, y0, trajectory)
    return states[-1], _jacobians_batch_last(block, states).permute(0, 3, 1, 2)


# -- spectral norms ---------------------------------------------------------------------------------

def spectral_norm(matrices: Tensor) -> Tensor:
    """Largest singular value of each square matrix of ``matrices`` (..., n, n) → (...)."""
    if not isinstance(matrices, Tensor) or matrices.dim() < 2 \
            or matrices.shape[-1] != matrices.shape[-2] or not matrices.is_floating_point():
        shape = tuple(matrices.shape) if isinstance(matrices, Tensor) else type(matrices).__name__
        raise ValueError(f"matrices with shape {shape} is not allowed: expected a floating tensor "
                         "of square matrices (..., n, n)")
    # σ_max² is the largest eigenvalue of AᵀA; in float64 it is as accurate as an SVD's σ_max
    # (relative error ~1e-16) and for 4×4 matrices about 1.4× faster.
    m = matrices.to(torch.float64)
    return torch.linalg.eigvalsh(m.mT @ m)[..., -1].clamp_min(0).sqrt().to(matrices.dtype)


# -- tracking ---------------------------------------------------------------------------------------

def _layer_indices(layers: Iterable[int] | None, depth: int) -> list[int]:
    if layers is None:
        return list(range(depth + 1))
    try:
        chosen = list(layers)
    except TypeError:
        raise ValueError(f"layers={layers!r} is not allowed: expected an iterable of layer "
                         f"indices in 0..{depth}") from None
    if not chosen:
        raise ValueError("layers=[] is not allowed: give at least one layer index")
    for layer in chosen:
        if not isinstance(layer, numbers.Integral) or isinstance(layer, bool) \
                or not 0 <= layer <= depth:
            raise ValueError(f"layer index {layer!r} is not allowed: layers must be integers "
                             f"in 0..{depth} (the block has depth {depth})")
    return [int(layer) for layer in chosen]


def _kind_names(kinds: Iterable[str]) -> list[str]:
    chosen = [kinds] if isinstance(kinds, str) else list(kinds)
    if not chosen or any(kind not in KINDS for kind in chosen):
        raise ValueError(f"kinds={kinds!r} is not allowed: give some of {', '.join(KINDS)}")
    return [kind for kind in KINDS if kind in chosen]


def gradient_norms(block: Block, y0: Tensor | None = None, *, trajectory: Tensor | None = None,
                   layers: Iterable[int] | None = None,
                   kinds: Iterable[str] = KINDS) -> dict[str, Tensor]:
    """‖∂y_N/∂y_ℓ‖₂ of a minibatch for the tracked layers ℓ (default: all, 0..N).

    Inputs as for :func:`layer_jacobians`. Returns 1-D tensors of equal length, aligned:
    ``"layer"`` (the indices ℓ, int64) and one per requested kind of :data:`KINDS`:
    ``"mean_jacobian"``, the spectral norm of the batch-mean Jacobian (the authors' definition),
    and ``"per_sample_median"`` / ``"per_sample_max"`` of the per-sample spectral norms (the
    median averages the two middle values for an even batch). The per-sample kinds cost most:
    one norm per layer and sample.
    """
    states = _states(block, y0, trajectory)
    chosen = _layer_indices(layers, block.depth)
    wanted = _kind_names(kinds)
    with torch.no_grad():
        return _norms(_jacobians_batch_last(block, states), chosen, wanted)


def _norms(jac: Tensor, chosen: list[int], wanted: list[str]) -> dict[str, Tensor]:
    """gradient_norms' result from the Jacobians (N + 1, n, n, batch) of all layers."""
    index = torch.tensor(chosen, device=jac.device)
    tracked = jac if chosen == list(range(jac.shape[0])) else jac.index_select(0, index)
    result = {"layer": index.cpu()}
    if "mean_jacobian" in wanted:
        result["mean_jacobian"] = spectral_norm(tracked.mean(-1))             # (L,)
    if {"per_sample_median", "per_sample_max"} & set(wanted):
        sample_norms = spectral_norm(tracked.permute(0, 3, 1, 2))            # (L, batch)
        result["per_sample_median"] = sample_norms.quantile(0.5, dim=-1)
        result["per_sample_max"] = sample_norms.amax(-1)
    return {key: value for key, value in result.items() if key == "layer" or key in wanted}


def tracked_records(block: Block, trajectory: Tensor, iteration: int,
                    layers_by_kind: dict[str, Iterable[int] | None]) -> list[dict]:
    """One training iteration's norms as tidy rows (see :func:`norm_records`), each kind on its
    own layers (None: all, 0..N), from one batched pass over the Jacobians: e.g. the batch-mean
    Jacobian of every layer and the costlier per-sample spread of a few."""
    if not isinstance(layers_by_kind, dict):
        raise ValueError(f"layers_by_kind={layers_by_kind!r} is not allowed: expected a dict "
                         f"kind -> layer indices (or None for all), kinds among {', '.join(KINDS)}")
    _kind_names(layers_by_kind)
    states = _states(block, None, trajectory)
    groups: dict[tuple[int, ...], list[str]] = {}       # kinds sharing layers share their norms
    for kind, layers in layers_by_kind.items():
        groups.setdefault(tuple(_layer_indices(layers, block.depth)), []).append(kind)
    with torch.no_grad():
        jac = _jacobians_batch_last(block, states)
        return [row for layers, kinds in groups.items()
                for row in norm_records(_norms(jac, list(layers), kinds), iteration)]


def norm_records(norms: dict[str, Tensor], iteration: int) -> list[dict]:
    """One iteration's :func:`gradient_norms` as tidy rows (iteration, layer, kind, value), e.g.
    for ``pandas.DataFrame(rows)`` or ``csv.DictWriter``."""
    if not isinstance(norms, dict) or "layer" not in norms \
            or not any(kind in norms for kind in KINDS) \
            or any(key != "layer" and key not in KINDS for key in norms):
        raise ValueError("norms is not allowed: expected the dict returned by gradient_norms, "
                         f"with key 'layer' and some of {', '.join(KINDS)}")
    if not isinstance(iteration, numbers.Integral) or isinstance(iteration, bool):
        raise ValueError(f"iteration={iteration!r} is not allowed: expected an integer")
    layers = norms["layer"].tolist()
    return [{"iteration": int(iteration), "layer": layer, "kind": kind, "value": value}
            for kind in KINDS if kind in norms for layer, value in zip(layers, norms[kind].tolist())]

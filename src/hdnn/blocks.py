"""The paper's network blocks: MS1, MS2, MS3, H1, H2 and a fully connected tanh baseline.

Every block maps a state ``y0`` of shape ``(batch, nf)`` or ``(batch, nf, *spatial)`` (features on
dim 1; the same layer acts at every spatial position) through ``depth`` layers. The equations are
those of docs/paper.md, written here in row-vector form (``y @ K.T`` is ``K y``).
Weights of all layers are stored stacked, with a leading dimension of ``depth`` (or 1 when the
block is time-invariant), so a forward pass does no Python work beyond the layer loop.
"""

from __future__ import annotations

import math
import numbers
from typing import Callable

import torch
from torch import nn

from hdnn.catalog import ARCHS, SPLIT_ARCHS

WeightInit = Callable[[torch.Tensor], object]


def _check(cond: bool, name: str, value, allowed: str) -> None:
    if not cond:
        raise ValueError(f"{name}={value!r} is not allowed: {allowed}")


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def j_matrix(arch: str, nf: int, dtype=None, device=None) -> torch.Tensor:
    """The paper's interconnection matrix J (section 3.2) for H1 or H2."""
    if arch == "H1":
        m = nf // 2
        eye = torch.eye(m, dtype=dtype, device=device)
        zero = torch.zeros(m, m, dtype=dtype, device=device)
        # Paper's J = [[0, I], [-I, 0]]; the authors' code uses its negative (docs/paper.md).
        return torch.cat([torch.cat([zero, eye], 1), torch.cat([-eye, zero], 1)], 0)
    if arch == "H2":
        ones = torch.ones(nf, nf, dtype=dtype, device=device)
        return torch.triu(ones, 1) - torch.tril(ones, -1)
    raise ValueError(f"arch={arch!r} has no J matrix: only H1 and H2 do")


class Block(nn.Module):
    """Common machinery: validation, stacked per-layer weights, layer loop, regulariser.

    Subclasses declare ``param_shapes`` (raw trainable tensors per layer, with ``is_bias``), turn
    raw parameters into effective weights in ``_effective`` and implement one layer in ``_step``.
    """

    arch: str = ""

    def __init__(self, nf: int, depth: int, h: float, time_invariant: bool = False,
                 weight_init: WeightInit = nn.init.normal_, bias_init: WeightInit = nn.init.zeros_):
        super().__init__()
        _check(_is_int(nf) and nf >= 2, "nf", nf, "an integer >= 2")
        if self.arch in SPLIT_ARCHS:
            _check(nf % 2 == 0, "nf", nf, f"{self.arch} splits the state in halves, so nf must be even")
        _check(_is_int(depth) and depth >= 1, "depth", depth, "an integer >= 1")
        _check(isinstance(h, numbers.Real) and not isinstance(h, bool) and math.isfinite(h) and h > 0, "h", h,
               "a finite number > 0")
        self.nf, self.depth, self.h = int(nf), int(depth), float(h)
        self.time_invariant = bool(time_invariant)
        n_sets = 1 if self.time_invariant else depth
        for name, (shape, is_bias) in self.param_shapes().items():
            p = nn.Parameter(torch.empty(n_sets, *shape))
            (bias_init if is_bias else weight_init)(p.data)
            self.register_parameter(name, p)

    # -- to implement -------------------------------------------------------------------------
    # Weight tensors are layer-first: (layers, *members, *shape), where ``members`` is empty for
    # one network and (E,) for E stacked networks (biases then carry a singleton dim so that they
    # broadcast over the batch). The same code therefore runs one network or E of them at once.
    def param_shapes(self) -> dict[str, tuple[tuple[int, ...], bool]]:
        raise NotImplementedError

    def _effective(self, raw: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Effective weights (docs/paper.md's notation) of all layers from raw parameters."""
        return dict(self.named_parameters()) if raw is None else raw

    def _prepare(self, eff: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Tensors ``_step`` uses, computed for all layers at once (fewer ops per layer)."""
        return eff

    def _step(self, y: torch.Tensor, w: dict[str, torch.Tensor]) -> torch.Tensor:
        """One layer on a channels-last state ``(..., nf)`` with layer weights ``w``."""
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------
    def _layer(self, eff: dict[str, torch.Tensor], j: int) -> dict[str, torch.Tensor]:
        k = 0 if self.time_invariant else j
        return {name: t[k] for name, t in eff.items()}

    def _check_input(self, y0: torch.Tensor) -> None:
        if not isinstance(y0, torch.Tensor) or y0.dim() < 2 or y0.shape[1] != self.nf:
            shape = tuple(y0.shape) if isinstance(y0, torch.Tensor) else type(y0).__name__
            raise ValueError(f"y0 with shape {shape} is not allowed: dim 1 must hold the "
                             f"nf={self.nf} features, shape (batch, {self.nf}, ...)")

    def run_channels_last(self, y: torch.Tensor, raw: dict[str, torch.Tensor] | None = None,
                          keep: bool = False) -> list[torch.Tensor]:
        """The layer loop on a channels-last state (..., nf); with ``raw`` stacked weights of E
        networks, y is (E, batch, nf). Returns [y_N], or [y_0, ..., y_N] when ``keep``."""
        prepared = self._prepare(self._effective(raw))
        # One unbind per tensor instead of an index op per layer and tensor.
        per_layer = [dict(zip(prepared, ts)) for ts in zip(*(t.unbind(0) for t in prepared.values()))]
        states = [y] if keep else []
        for j in range(self.depth):
            y = self._step(y, per_layer[0 if self.time_invariant else j])
            if keep:
                states.append(y)
        return states if keep else [y]

    def forward(self, y0: torch.Tensor) -> torch.Tensor:
        self._check_input(y0)
        return self.run_channels_last(y0.movedim(1, -1))[0].movedim(-1, 1)

    def trajectory(self, y0: torch.Tensor) -> torch.Tensor:
        """All states y_0 ... y_N stacked: shape (depth + 1, *y0.shape)."""
        self._check_input(y0)
        return torch.stack(self.run_channels_last(y0.movedim(1, -1), keep=True)).movedim(-1, 2)

    def weights(self, j: int) -> dict[str, torch.Tensor]:
        """Layer j's effective weights in docs/paper.md's notation."""
        _check(_is_int(j) and 0 <= j < self.depth, "j", j,
               f"a layer index in 0..{self.depth - 1}")
        return self._layer(self._effective(), j)

    def params_per_layer(self) -> int:
        n_sets = 1 if self.time_invariant else self.depth
        return sum(p.numel() for p in self.parameters()) // n_sets

    def regularizer(self, raw: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Eq. 13: (h/2) Σ_{j=1}^{N-1} Σ_weights ‖W_j − W_{j−1}‖² over the effective weights.

        Differences of MS2's full skew K are used (what ‖K_j − K_{j−1}‖_F means in the paper), and
        J, which is fixed, contributes nothing. Zero for a time-invariant block. With stacked
        ``raw`` weights of E networks, one value per network, shape (E,).
        """
        eff = self._effective(raw)
        ref = next(iter(eff.values()))
        members = () if raw is None else ref.shape[1:2]
        total = ref.new_zeros(members)
        if self.time_invariant or self.depth < 2:
            return total
        for name, t in eff.items():
            if name != "J":
                d = (t[1:] - t[:-1]).pow(2)
                total = total + (d.sum() if raw is None else d.transpose(0, 1).flatten(1).sum(1))
        return 0.5 * self.h * total

    def extra_repr(self) -> str:
        return (f"nf={self.nf}, depth={self.depth}, h={self.h}, "
                f"time_invariant={self.time_invariant}")


class MS1(Block):
    """Haber & Ruthotto (Verlet): z⁺ = z − h σ(K₀ᵀ y + b₁), then y⁺ = y + h σ(K₀ z⁺ + b₂)."""

    arch = "MS1"

    def param_shapes(self):
        m = self.nf // 2
        return {"K0": ((m, m), False), "b1": ((m,), True), "b2": ((m,), True)}

    def _step(self, x, w):
        m = self.nf // 2
        y, z = x[..., :m], x[..., m:]
        z = z - self.h * torch.tanh(y @ w["K0"] + w["b1"])      # K₀ᵀ y  ==  y @ K₀
        y = y + self.h * torch.tanh(z @ w["K0"].mT + w["b2"])   # K₀ z⁺  ==  z⁺ @ K₀ᵀ
        return torch.cat([y, z], -1)


class MS2(Block):
    """Antisymmetric (forward Euler): y⁺ = y + h σ(K y + b), K = −Kᵀ (only the upper triangle is stored)."""

    arch = "MS2"

    def param_shapes(self):
        n = self.nf
        return {"k_upper": ((n * (n - 1) // 2,), False), "b": ((n,), True)}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        n = self.nf
        rows, cols = torch.triu_indices(n, n, 1)
        basis = torch.zeros(len(rows), n, n)
        basis[torch.arange(len(rows)), rows, cols] = 1.0
        basis[torch.arange(len(rows)), cols, rows] = -1.0
        # K = Σ_p k_p (E_p − E_pᵀ): skew by construction, and free of in-place writes (vmap-safe).
        self.register_buffer("skew_basis", basis, persistent=False)

    def _effective(self, raw=None):
        raw = dict(self.named_parameters()) if raw is None else raw
        k = raw["k_upper"]
        return {"K": torch.einsum("...p,pij->...ij", k, self.skew_basis.to(k.dtype)), "b": raw["b"]}

    def _step(self, y, w):
        return y + self.h * torch.tanh(y @ w["K"].mT + w["b"])


class MS3(Block):
    """Chang et al. (Verlet): y⁺ = y + h K₁ᵀ σ(K₁ z + b₁), then z⁺ = z − h K₂ᵀ σ(K₂ y⁺ + b₂)."""

    arch = "MS3"

    def param_shapes(self):
        m = self.nf // 2
        return {"K1": ((m, m), False), "K2": ((m, m), False),
                "b1": ((m,), True), "b2": ((m,), True)}

    def _step(self, x, w):
        m = self.nf // 2
        y, z = x[..., :m], x[..., m:]
        y = y + self.h * torch.tanh(z @ w["K1"].mT + w["b1"]) @ w["K1"]
        z = z - self.h * torch.tanh(y @ w["K2"].mT + w["b2"]) @ w["K2"]
        return torch.cat([y, z], -1)


class HamiltonianEuler(Block):
    """H1 / H2 (eq. 11): y⁺ = y + h J Kᵀ σ(K y + b) with a fixed J."""

    def param_shapes(self):
        n = self.nf
        return {"K": ((n, n), False), "b": ((n,), True)}

    def _effective(self, raw=None):
        raw = dict(self.named_parameters()) if raw is None else raw
        K = raw["K"]
        J = j_matrix(self.arch, self.nf, dtype=K.dtype, device=K.device)
        return {"K": K, "b": raw["b"], "J": J.expand(K.shape)}

    def _prepare(self, eff):
        return {"Kt": eff["K"].mT, "b": eff["b"], "hKJt": self.h * eff["K"] @ eff["J"].mT}

    def _step(self, y, w):
        # Row form of y + h J Kᵀ σ(K y + b): y + σ(y Kᵀ + b) (h K Jᵀ).
        return y + torch.tanh(y @ w["Kt"] + w["b"]) @ w["hKJt"]

    def vector_field_jacobian(self, y: torch.Tensor, j: int = 0) -> torch.Tensor:
        """Eq. 16 as printed, ∂f/∂y = Kᵀ D(y) K Jᵀ with D(y) = diag(σ'(K y + b)), for layer j's
        weights at each state of ``y`` (batch, nf) → (batch, nf, nf). Section 3.4 studies it for
        the time-invariant block (Lemmas 3 and 4: spectrum on the imaginary axis, diagonalisable).
        """
        w = self.weights(j)
        d = 1 - torch.tanh(y @ w["K"].mT + w["b"]).pow(2)
        return (w["K"].mT * d.unsqueeze(-2)) @ w["K"] @ w["J"].mT


class H1(HamiltonianEuler):
    arch = "H1"


class H2(HamiltonianEuler):
    arch = "H2"


class FC(Block):
    """The paper's fully connected baseline y⁺ = σ(K y + b); h only scales the regulariser."""

    arch = "FC"

    def param_shapes(self):
        n = self.nf
        return {"K": ((n, n), False), "b": ((n,), True)}

    def _step(self, y, w):
        return torch.tanh(y @ w["K"].mT + w["b"])


_CLASSES = {cls.arch: cls for cls in (MS1, MS2, MS3, H1, H2, FC)}


def make_block(arch: str, nf: int, depth: int, h: float, time_invariant: bool = False,
               weight_init: WeightInit = nn.init.normal_,
               bias_init: WeightInit = nn.init.zeros_) -> Block:
    """Build one of the paper's blocks.

    Weights default to N(0, 1) as in the authors' code; biases default to zero (our reading:
    docs/paper.md only states the weights' law). Both are arguments.
    """
    _check(arch in _CLASSES, "arch", arch, f"one of {', '.join(ARCHS)}")
    return _CLASSES[arch](nf, depth, h, time_invariant, weight_init, bias_init)

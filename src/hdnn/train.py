"""Training of one (dataset, arch, depth) cell of Table 1 for several seeds at once.

The seeds of a cell are trained together with stacked weights (batched matrix products): the
stacked tensors hold independent networks, Adam is elementwise and the losses are summed, so each
seed follows the trajectory it would follow alone, at a fraction of the Python overhead.
Each seed has its own generator for its initial weights, minibatch order and output layers.

Two schemes (config ``scheme``):
- ``alternating``, the authors' code: per minibatch a fresh output layer is fitted for
  ``inner_steps`` Adam steps on the frozen features, then one Adam step updates the block with
  that output layer fixed; after training the output layer is refitted for ``refit_epochs``.
- ``joint``: one Adam over the block and the output layer.
The loss is eq. 12: mean binary cross-entropy on logits + α_c (‖W‖² + µ²) + α R (eq. 13), or
(α_c/2) (‖W‖² + µ²) as in the authors' code (``output_penalty``).

The authors' code differs from the paper's text in details the paper never states; each is an
option here, its default the authors' value: ``bias_init`` (block biases N(0, 1)), ``ms2_init``
(MS2's K from differences of N(0, 1) entries, variance 2), ``output_init`` (output layers start
at zero), ``output_penalty`` (α_c/2), ``adam_step_reset`` (the block's Adam step counter set to
the epoch index before every step: a hidden learning-rate schedule), ``data_per_seed`` (each run
draws and shuffles its own data set under its own seed).

Optionally (``track``, Figure 2) the gradient norms ‖∂y_N/∂y_ℓ‖₂ of every seed are recorded at
every iteration, from the states of the training forward pass and before the weights are
updated; tracking changes nothing that training computes.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from dataclasses import asdict, dataclass, field

import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from hdnn.blocks import Block, make_block
from hdnn.data import pad_inputs, run_dataset, split_validation
from hdnn.gradients import tracked_records
from hdnn.provenance import NORMS_FILE, derive_seed, git_commit, versions, write_json

SCHEMES = ("alternating", "joint")
CHOICES = {"scheme": SCHEMES, "bias_init": ("normal", "zeros"), "ms2_init": ("differences", "entries"),
           "output_init": ("zeros", "uniform"), "output_penalty": ("half", "full")}


@dataclass
class TrainConfig:
    nf: int = 4
    T: float = 0.8                 # final time; h = T / depth
    lr: float = 0.05
    epochs: int = 50
    batch_size: int = 125
    alpha: float = 5e-4            # weight of the smoothness regulariser R (eq. 13)
    alpha_c: float = 1e-4          # weight decay of the output layer
    scheme: str = "alternating"
    inner_steps: int = 10          # alternating: output-layer steps per minibatch
    refit_epochs: int = 50         # alternating: final output-layer refit
    input_placement: str = "code"
    time_invariant: bool = False
    # The authors' code's details (module docstring); defaults are their values.
    bias_init: str = "normal"      # block biases: normal N(0, 1) | zeros
    ms2_init: str = "differences"  # MS2's K_ij = a_ij − a_ji, a ~ N(0, 1) | entries: K_ij ~ N(0, 1)
    output_init: str = "zeros"     # every (fresh) output layer: zeros | uniform U(±1/√nf)
    output_penalty: str = "half"   # half: (α_c/2)(‖W‖² + µ²) | full: α_c (‖W‖² + µ²), eq. 12
    adam_step_reset: bool = True   # block's Adam: step counter := epoch index before each step
    data_per_seed: bool = True     # each seed draws and shuffles its own data set
    eval_epochs: list[int] = field(default_factory=list)  # extra evaluations (tuning curves)
    validation: bool = False       # tuning: train on 4/5 of the training set, no test set

    def __post_init__(self):
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}={getattr(self, name)!r} is not allowed: one of {', '.join(allowed)}")
        for name in ("T", "lr", "alpha", "alpha_c"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name}={v!r} is not allowed: a finite number >= 0")
        for name in ("epochs", "batch_size", "inner_steps", "refit_epochs"):
            v = getattr(self, name)
            if not (isinstance(v, int) and v >= 1):
                raise ValueError(f"{name}={v!r} is not allowed: an integer >= 1")


class Ensemble:
    """E independent networks of one architecture, their weights stacked as (layers, E, ...)."""

    def __init__(self, arch: str, nf: int, depth: int, h: float, time_invariant: bool,
                 seeds: list[int], bias_init: str = "normal", ms2_init: str = "differences"):
        inits = {"bias_init": nn.init.normal_ if bias_init == "normal" else nn.init.zeros_}
        if arch == "MS2" and ms2_init == "differences":
            inits["weight_init"] = _skew_differences
        members = []
        for s in seeds:
            torch.manual_seed(s)  # make_block draws its weights from the global generator
            members.append(make_block(arch, nf, depth, h, time_invariant, **inits))
        self.block = members[0]
        self.bias_names = [n for n, (_, is_bias) in self.block.param_shapes().items() if is_bias]
        self.params = {}
        for name, _ in self.block.named_parameters():
            t = torch.stack([getattr(m, name).detach() for m in members], 1)
            # Biases get a singleton dim so that they broadcast over the minibatch.
            self.params[name] = (t.unsqueeze(-2) if name in self.bias_names else t).requires_grad_()

    def __call__(self, x):
        """x: (E, batch, nf) → features (E, batch, nf), regulariser (E,)."""
        return (self.block.run_channels_last(x, self.params)[0],
                self.block.regularizer(self.params))

    def forward_tracked(self, x):
        """As ``__call__``, plus the detached states y_0..y_N, (N + 1, E, batch, nf)."""
        states = self.block.run_channels_last(x, self.params, keep=True)
        with torch.no_grad():
            trajectory = torch.stack(states)
        return states[-1], self.block.regularizer(self.params), trajectory

    def member_block(self, e: int) -> Block:
        """A plain block whose weights are views of member e's: it follows training in place."""
        b = self.block
        # Zero init: building it must not draw from the global generator.
        member = make_block(b.arch, b.nf, b.depth, b.h, b.time_invariant, weight_init=nn.init.zeros_)
        for name, p in member.named_parameters():
            view = self.params[name].detach()[:, e]
            p.data = view.squeeze(-2) if name in self.bias_names else view
        return member

    def member_state(self, e: int) -> dict[str, torch.Tensor]:
        """Member e's weights as a state dict of a plain block."""
        return {k: (v[:, e].squeeze(-2) if k in self.bias_names else v[:, e]).detach().clone()
                for k, v in self.params.items()}


def _skew_differences(t: torch.Tensor) -> None:
    """MS2's free entries as the authors' code draws them: K_ij = a_ij − a_ji with a ~ N(0, 1)."""
    t.copy_(torch.randn_like(t) - torch.randn_like(t))


def _logits(feats, W, mu):
    return (feats * W.unsqueeze(1)).sum(-1) + mu.unsqueeze(1)


def _output_loss(feats, labels, W, mu, alpha_c):
    """Per-member mean BCE on logits + alpha_c (‖W‖² + µ²), shape (E,); alpha_c is the penalty's
    weight: TrainConfig.alpha_c, halved under output_penalty "half" (the caller's ``penalty``)."""
    bce = nn.functional.binary_cross_entropy_with_logits(
        _logits(feats, W, mu), labels, reduction="none").mean(1)
    return bce + alpha_c * (W.pow(2).sum(1) + mu.pow(2))


def _fresh_output(gens, nf, init="uniform"):
    """A fresh output layer per member: zeros (the authors' code) or nn.Linear's default law
    U(−1/√nf, 1/√nf), drawn from each member's generator."""
    if init == "zeros":
        w = torch.zeros(len(gens), nf + 1)
    else:
        bound = 1 / math.sqrt(nf)
        w = torch.stack([(torch.rand(nf + 1, generator=g) * 2 - 1) * bound for g in gens])
    return w[:, :nf].clone().requires_grad_(), w[:, nf].clone().requires_grad_()


def _fit_output(batches, gens, nf, lr, alpha_c, steps_per_batch=1, init="uniform",
                betas=(0.9, 0.999), eps=1e-8):
    """Adam on a fresh output layer over frozen (features, labels) minibatches.

    Logistic regression has a closed-form gradient, so this runs Adam by hand on [W, µ] without
    autograd: the alternating scheme takes 10 of these steps per minibatch, and torch's optimiser
    overhead would dominate the whole training. Same update as torch.optim.Adam (tested).
    """
    W, mu = _fresh_output(gens, nf, init)
    theta = m = v = None
    t = 0
    for feats, labels in batches:
        if theta is None:
            theta = torch.cat([W.detach(), mu.detach().unsqueeze(1)], 1).to(feats.dtype)
            m, v = torch.zeros_like(theta), torch.zeros_like(theta)
        ones = feats.new_ones(feats.shape[:2] + (1,))
        X = torch.cat([feats, ones], -1)  # (E, batch, nf + 1)
        for _ in range(steps_per_batch):
            t += 1
            err = torch.sigmoid((X @ theta.unsqueeze(-1)).squeeze(-1)) - labels
            grad = (X.transpose(1, 2) @ err.unsqueeze(-1)).squeeze(-1) / X.shape[1]
            grad = grad + 2 * alpha_c * theta
            m.mul_(betas[0]).add_(grad, alpha=1 - betas[0])
            v.mul_(betas[1]).addcmul_(grad, grad, value=1 - betas[1])
            denom = (v / (1 - betas[1] ** t)).sqrt_().add_(eps)
            theta = theta - (lr / (1 - betas[0] ** t)) * m / denom
    return theta[:, :nf].contiguous(), theta[:, nf].contiguous()


def _shuffled_batches(gens, n, batch_size, epochs=1):
    """Each member's own shuffled minibatch indices, (E, batch) per step; remainder dropped."""
    for _ in range(epochs):
        perm = torch.stack([torch.randperm(n, generator=g) for g in gens])
        for k in range(n // batch_size):
            yield perm[:, k * batch_size:(k + 1) * batch_size]


def _evaluate(ens, W, mu, x, y):
    """Accuracy and loss of every member on its own inputs x (E, n, nf) and labels y (E, n)."""
    with torch.no_grad():
        feats, _ = ens(x)
        labels = y.float()
        loss = _output_loss(feats, labels, W, mu, 0.0)
        acc = ((_logits(feats, W, mu) > 0).float() == labels).float().mean(1)
    return acc, loss


def _stack_members(data, E: int) -> dict[str, torch.Tensor]:
    """One data set for all members, or one per member (data_per_seed), as (E, n, ...) tensors."""
    if isinstance(data, dict):
        return {k: v.expand(E, *v.shape) for k, v in data.items()}
    if len(data) != E or len({tuple(d) for d in data}) != 1:
        raise ValueError(f"data: {len(data)} data sets with the same keys are needed, one per seed ({E})")
    return {k: torch.stack([d[k] for d in data]) for k in data[0]}


def _gather(t: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Each member's rows idx[e] of t[e]: t (E, n, ...) and idx (E, batch) → (E, batch, ...)."""
    return t.gather(1, idx.view(*idx.shape, *([1] * (t.dim() - 2))).expand(*idx.shape, *t.shape[2:]))


def train_cell(data, arch: str, depth: int, seeds: list[int],
               cfg: TrainConfig, progress: bool = True, desc: str = "",
               track: dict[str, list[int] | None] | None = None) -> list[dict]:
    """Train one cell for every seed; returns one metrics dict per seed (and the weights).

    ``data``: one data set (dict of tensors) shared by every seed, or a list of one per seed.
    ``track`` (kind → layers ℓ, None for all; see hdnn.gradients.tracked_records) adds to each
    seed's result ``"norms"``, tidy rows (iteration, layer, kind, value) for iterations 0, 1, ...
    (iteration i is the minibatch seen after i updates), and to its metrics ``iteration_loss``,
    the minibatch loss of every iteration.
    """
    start = time.time()
    E, nf = len(seeds), cfg.nf
    h = cfg.T / depth
    ens = Ensemble(arch, nf, depth, h, cfg.time_invariant, seeds, cfg.bias_init, cfg.ms2_init)
    gens = [torch.Generator().manual_seed(s + 1) for s in seeds]
    data = _stack_members(data, E)
    x_tr = pad_inputs(data["x_train"], nf, cfg.input_placement)   # (E, n, nf)
    y_tr = data["y_train"].float()                                 # (E, n)
    n = x_tr.shape[1]
    B = cfg.batch_size
    n_batches = n // B
    penalty = cfg.alpha_c * (0.5 if cfg.output_penalty == "half" else 1.0)

    block_params = list(ens.params.values())
    W, mu = _fresh_output(gens, nf, cfg.output_init)
    opt = torch.optim.Adam(block_params + ([W, mu] if cfg.scheme == "joint" else []), lr=cfg.lr,
                           foreach=True)
    curve, evals = [], []
    diverged = torch.zeros(E, dtype=torch.bool)
    members = [ens.member_block(e) for e in range(E)] if track is not None else []
    norms, iteration_loss = [[] for _ in members], []

    def output_layer():
        if cfg.scheme == "joint":
            return W.detach(), mu.detach()
        with torch.no_grad():
            feats_all, _ = ens(x_tr)
        # Own generators, so evaluating mid-training never changes the training itself.
        refit_gens = [torch.Generator().manual_seed(s + 2) for s in seeds]
        batches = ((_gather(feats_all, idx), _gather(y_tr, idx))
                   for idx in _shuffled_batches(refit_gens, n, B, cfg.refit_epochs))
        return _fit_output(batches, refit_gens, nf, cfg.lr, penalty, init=cfg.output_init)

    bar = tqdm(range(cfg.epochs), desc=desc or f"{arch} depth {depth}", disable=not progress,
               leave=False)
    for epoch in bar:
        epoch_loss = torch.zeros(E)
        for k, idx in enumerate(_shuffled_batches(gens, n, B)):
            xb, yb = _gather(x_tr, idx), _gather(y_tr, idx)
            if track is None:
                feats, reg = ens(xb)
            else:
                feats, reg, trajectory = ens.forward_tracked(xb)
                for e, member in enumerate(members):
                    norms[e] += tracked_records(member, trajectory[:, e], epoch * n_batches + k,
                                                track)
            if cfg.scheme == "alternating":
                # The block is frozen while the output layer is fitted, so the same forward pass
                # serves the fit (detached) and the block's step.
                W, mu = _fit_output([(feats.detach(), yb)], gens, nf, cfg.lr, penalty,
                                    steps_per_batch=cfg.inner_steps, init=cfg.output_init)
            loss = _output_loss(feats, yb, W, mu, penalty) + cfg.alpha * reg
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            if cfg.adam_step_reset:
                # The authors' code: Adam's bias correction is that of step epoch + 1 all epoch.
                for p in block_params:
                    if p in opt.state:
                        opt.state[p]["step"].fill_(epoch)
            opt.step()
            epoch_loss += loss.detach()
            if track is not None:
                iteration_loss.append(loss.detach())
        epoch_loss /= n_batches
        diverged |= ~torch.isfinite(epoch_loss)
        curve.append(epoch_loss.tolist())
        bar.set_postfix(loss=f"{float(epoch_loss.nanmean()):.4f}")
        if epoch + 1 in cfg.eval_epochs and epoch + 1 < cfg.epochs:
            evals.append((epoch + 1, _eval_sets(ens, *output_layer(), data, cfg)))

    W_f, mu_f = output_layer()
    final = _eval_sets(ens, W_f, mu_f, data, cfg)
    wall = time.time() - start
    results = []
    for e, seed in enumerate(seeds):
        m = {k: float(v[e]) for k, v in final.items()}
        m.update(seed=seed, diverged=bool(diverged[e] or not math.isfinite(m["train_loss"])),
                 loss_curve=[c[e] for c in curve], h=h, params_per_layer=ens.block.params_per_layer(),
                 wall_time_s=wall / E, wall_time_cell_s=wall, ensemble_size=E,
                 evals={str(ep): {k: float(v[e]) for k, v in ev.items()} for ep, ev in evals})
        result = {"metrics": m, "state": {"block": ens.member_state(e),
                                          "W": W_f[e].clone(), "mu": mu_f[e].clone()}}
        if track is not None:
            m["iteration_loss"] = [float(loss[e]) for loss in iteration_loss]
            result["norms"] = norms[e]
        results.append(result)
    return results


def _eval_sets(ens, W, mu, data, cfg):
    out = {}
    for split in ("train", "test", "val"):
        if f"x_{split}" not in data:
            continue
        x = pad_inputs(data[f"x_{split}"], cfg.nf, cfg.input_placement)
        acc, loss = _evaluate(ens, W, mu, x, data[f"y_{split}"])
        out[f"{split}_acc"], out[f"{split}_loss"] = acc, loss
    return out


def data_seed(seed: int) -> int:
    """The seed a run draws its data set under (data_per_seed): apart from its weights' seed."""
    return seed + 3


def run_cell(data_path, out_paths: list[str], study: str, setting: str, dataset: str, arch: str,
             depth: int, settings: dict, base_seed: int, threads: int = 1,
             progress: bool = True, track: dict[str, list[int] | None] | None = None,
             extra_keys: dict | None = None) -> None:
    """Train a cell's seeds and write one folder per seed: metrics.json and model.pt, and with
    ``track`` (see train_cell) the norms as NORMS_FILE, a gzipped CSV. ``extra_keys``: keys every
    run's metrics.json adds (the confirmatory runs: their protocol's hash).

    Seeds derive from the study and setting as well as the cell, so runs of different studies
    (a search and the protocol it feeds) never share a seed."""
    torch.set_num_threads(threads)
    cfg = TrainConfig(**settings)
    seeds = [derive_seed(base_seed, study, setting, dataset, arch, depth, i) for i in range(len(out_paths))]
    data_seeds = [data_seed(s) if cfg.data_per_seed else None for s in seeds]
    data = [run_dataset(data_path, dataset, d) for d in data_seeds]
    if cfg.validation:
        data = [split_validation(d) for d in data]
    results = train_cell(data, arch, depth, seeds, cfg, progress=progress,
                         desc=f"{study}/{setting} {dataset} {arch} depth {depth}", track=track)
    commit, vers = git_commit(), versions()
    for i, (path, res) in enumerate(zip(out_paths, results)):
        record = {"study": study, "setting": setting, "dataset": dataset, "arch": arch,
                  "depth": depth, "seed_index": i, "base_seed": base_seed, "config": asdict(cfg),
                  "data_seed": data_seeds[i], "threads": threads, "git_commit": commit,
                  "versions": vers, **res["metrics"], **(extra_keys or {})}
        folder = Path(path).parent
        folder.mkdir(parents=True, exist_ok=True)
        if track is not None:
            record["track"] = track
            pd.DataFrame(res["norms"]).to_csv(folder / NORMS_FILE, index=False)
        torch.save({"arch": arch, "depth": depth, "config": asdict(cfg), "data_seed": data_seeds[i],
                    **res["state"]}, folder / "model.pt")
        write_json(path, record)  # last: its presence marks a finished run

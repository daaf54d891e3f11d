"""Table 2: MNIST with a Hamiltonian block between a convolution and the output layer.

Network (docs/paper.md): a 3×3 convolution (padding 1, 1 → nf = 8 channels, no activation), then
``make_block(arch, nf, depth, h)`` acting on the nf channels at every pixel, then one linear layer on
all nf·28·28 values → 10 logits, softmax cross-entropy. Depth 0 is the convolution followed by the
output layer.

Training: Adam on minibatches of preloaded tensors (no DataLoader), learning rate × ``lr_gamma``
after every epoch, loss = mean cross-entropy + α R (eq. 13, once per step), Adam's weight decay on
the parameters ``weight_decay_scope`` names. After every epoch the
model is evaluated on the whole training set and on the test set (or, for tuning, on a validation
split carved out of the training set, the test set not loaded), as the authors' code did, and a
checkpoint (model, optimiser, scheduler, RNG states, curve) is written into the run folder; an
interrupted run resumes from it and ends with the same numbers as an uninterrupted one.

The result is the *final* epoch's accuracy. The authors' code reported the best test accuracy over
epochs, a selection on the test set: we record it only as ``best_epoch_test_acc_selected_on_test``.
"""

from __future__ import annotations

import logging
import math
import os
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

import warnings

from hdnn.blocks import ARCHS, Block, make_block
from hdnn.cpu import cpu_info, cpu_vector_flags
from hdnn.fast_block import block_forward, select_path
from hdnn.mnist import IMAGE_SIDE, load_mnist_tensors
from hdnn.provenance import MNIST_CODE, code_digest, derive_seed, git_commit, versions, write_json

log = logging.getLogger(__name__)

N_CLASSES = 10
# Evaluation batch: on a CPU small enough that a layer's activations stay in cache (faster than
# 1000); on a GPU large, since there the cost is one kernel launch per operation and batch.
EVAL_BATCH = {"cpu": 200, "cuda": 5000}
# Which parameters Adam's weight decay acts on: the authors' code decays every parameter, the
# paper's text (α_c R_N, "usually called weight decay") only the output layer.
WEIGHT_DECAY_SCOPES = {"all": ("conv", "block", "fc"), "conv_output": ("conv", "fc"), "output": ("fc",)}
# The block's biases: N(0, 1) in the authors' code; the paper is silent.
BLOCK_BIAS_INITS = {"normal": nn.init.normal_, "zeros": nn.init.zeros_}
CHECKPOINT = "checkpoint.pt"


@dataclass
class MnistConfig:
    h: float                        # step of the block (MS1 0.4, H2 0.05 in the paper)
    weight_decay: float             # Adam weight decay of the parameters weight_decay_scope names
    alpha: float = 1e-3             # weight of the block's regulariser R (eq. 13)
    nf: int = 8
    lr: float = 0.04
    lr_gamma: float = 0.8           # learning rate × lr_gamma after every epoch
    epochs: int = 10
    batch_size: int = 100
    subset: int | None = None       # training images used (the first ones); None = all
    test_subset: int | None = None  # test images used (the first ones); None = all
    validation: bool = False        # tuning: hold out n_val training images, never load the test set
    n_val: int = 10000
    weight_decay_scope: str = "all"   # a key of WEIGHT_DECAY_SCOPES; default: the authors' code
    block_bias_init: str = "normal"   # a key of BLOCK_BIAS_INITS; default: the authors' code

    def __post_init__(self):
        for name in ("h", "lr", "lr_gamma"):
            v = getattr(self, name)
            _require(name, v, _is_number(v) and v > 0, "a finite number > 0")
        for name in ("weight_decay", "alpha"):
            v = getattr(self, name)
            _require(name, v, _is_number(v) and v >= 0, "a finite number >= 0")
        for name in ("nf", "epochs", "batch_size", "n_val"):
            v = getattr(self, name)
            _require(name, v, _is_int(v) and v >= 1, "an integer >= 1")
        for name in ("subset", "test_subset"):
            v = getattr(self, name)
            _require(name, v, v is None or (_is_int(v) and v >= 1), "null (all) or an integer >= 1")
        _require("validation", self.validation, isinstance(self.validation, bool), "true or false")
        for name, allowed in (("weight_decay_scope", WEIGHT_DECAY_SCOPES),
                              ("block_bias_init", BLOCK_BIAS_INITS)):
            v = getattr(self, name)
            _require(name, v, v in allowed, f"one of {', '.join(allowed)}")


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _require(name: str, value, ok: bool, allowed: str) -> None:
    if not ok:
        raise ValueError(f"{name}={value!r} is not allowed: {allowed}")


# --- the network ------------------------------------------------------------------------------


class MnistNet(nn.Module):
    """Convolution → block of ``depth`` layers (none for depth 0) → linear layer to 10 logits."""

    def __init__(self, arch: str, depth: int, h: float, nf: int = 8, block_bias_init: str = "normal"):
        super().__init__()
        _require("arch", arch, arch in ARCHS, f"one of {', '.join(ARCHS)}")
        _require("depth", depth, _is_int(depth) and depth >= 0, "an integer >= 0 (0: no block)")
        _require("block_bias_init", block_bias_init, block_bias_init in BLOCK_BIAS_INITS,
                 f"one of {', '.join(BLOCK_BIAS_INITS)}")
        self.arch, self.depth = arch, depth
        self.conv = nn.Conv2d(1, nf, kernel_size=3, padding=1)
        self.block: Block | None = (make_block(arch, nf, depth, h, bias_init=BLOCK_BIAS_INITS[block_bias_init])
                                    if depth > 0 else None)
        self.fc = nn.Linear(nf * IMAGE_SIDE * IMAGE_SIDE, N_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if self.block is not None:
            # On a CPU a faster path through the same parameters (hdnn.fast_block); recorded.
            self.block_path = select_path(self.block, y.device)
            y = block_forward(self.block, y, self.block_path)
        return self.fc(y.flatten(1))

    def regularizer(self) -> torch.Tensor:
        return self.block.regularizer() if self.block is not None else self.fc.weight.new_zeros(())


def objective(net: MnistNet, x: torch.Tensor, y: torch.Tensor, alpha: float):
    """Minibatch loss (eq. 12 without the weight decay, which Adam applies) and the logits.

    α R is added once per step; the authors' code added it N − 1 times (a defect, docs/paper.md).
    """
    logits = net(x)
    return F.cross_entropy(logits, y) + alpha * net.regularizer(), logits


def make_optimizer(net: MnistNet, cfg: MnistConfig):
    """Adam with weight decay on the parts ``cfg.weight_decay_scope`` names, and its schedule.

    Adam's weight_decay=wd adds wd·θ to the gradient, i.e. (wd/2)‖θ‖² in the loss: the paper's
    α_c R_N when it acts on the output layer alone. The block is always regularised by α R too.
    """
    decayed = WEIGHT_DECAY_SCOPES[cfg.weight_decay_scope]
    groups = [{"params": list(part.parameters()), "weight_decay": cfg.weight_decay if name in decayed else 0.0}
              for name in ("conv", "block", "fc") if (part := getattr(net, name)) is not None]
    opt = torch.optim.Adam(groups, lr=cfg.lr)
    return opt, torch.optim.lr_scheduler.ExponentialLR(opt, gamma=cfg.lr_gamma)


# --- data -------------------------------------------------------------------------------------


def split_data(x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor | None,
               y_test: torch.Tensor | None, cfg: MnistConfig, base_seed: int) -> dict[str, torch.Tensor]:
    """The tensors a run trains and evaluates on.

    Validation (tuning): the last ``n_val`` images of a permutation fixed by ``base_seed`` are held
    out and no test set is returned. ``subset``/``test_subset`` then keep the first images.
    """
    if cfg.validation:
        _require("n_val", cfg.n_val, cfg.n_val < len(y_train),
                 f"fewer than the {len(y_train)} training images")
        gen = torch.Generator().manual_seed(derive_seed(base_seed, "mnist", "validation"))
        perm = torch.randperm(len(y_train), generator=gen)
        fit, held = perm[:-cfg.n_val], perm[-cfg.n_val:]
        data = {"x_train": x_train[fit], "y_train": y_train[fit],
                "x_val": x_train[held], "y_val": y_train[held]}
    else:
        if x_test is None or y_test is None:
            raise ValueError("a run without validation needs the test set")
        _require("test_subset", cfg.test_subset, cfg.test_subset is None or cfg.test_subset <= len(y_test),
                 f"at most the {len(y_test)} test images")
        data = {"x_train": x_train, "y_train": y_train,
                "x_test": x_test[:cfg.test_subset], "y_test": y_test[:cfg.test_subset]}
    _require("subset", cfg.subset, cfg.subset is None or cfg.subset <= len(data["y_train"]),
             f"at most the {len(data['y_train'])} training images available")
    data["x_train"], data["y_train"] = data["x_train"][:cfg.subset], data["y_train"][:cfg.subset]
    _require("batch_size", cfg.batch_size, cfg.batch_size <= len(data["y_train"]),
             f"at most the {len(data['y_train'])} training images")
    return data


def load_data(root: str | os.PathLike, cfg: MnistConfig, base_seed: int) -> dict[str, torch.Tensor]:
    """Verified MNIST under ``root`` (MnistDataError, saying what to do, if it is not there)."""
    x_train, y_train = load_mnist_tensors(root, train=True)
    test = (None, None) if cfg.validation else load_mnist_tensors(root, train=False)
    return split_data(x_train, y_train, *test, cfg, base_seed)


# --- training ---------------------------------------------------------------------------------


def default_device() -> torch.device:
    """A GPU if torch can use one; a CUDA build that cannot says so instead of falling back silently."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.version.cuda is not None:
        warnings.warn(f"torch {torch.__version__} is built for CUDA but sees no usable GPU; training "
                      "on the CPU", stacklevel=2)
    return torch.device("cpu")


def train_epoch(net: MnistNet, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                order: torch.Generator, batch_size: int, alpha: float, bar=None) -> float:
    """One pass over shuffled minibatches (the remainder is dropped); mean objective."""
    net.train()
    perm = torch.randperm(len(y), generator=order).to(x.device)
    n_batches = len(y) // batch_size
    total = x.new_zeros(())
    for k in range(n_batches):
        idx = perm[k * batch_size:(k + 1) * batch_size]
        loss, _ = objective(net, x[idx], y[idx], alpha)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.detach()
        if bar is not None:
            bar.update(batch_size)
    return float(total) / n_batches


@torch.inference_mode()  # no autograd records: the fused kernel's forward alone
def evaluate(net: MnistNet, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a whole split."""
    net.eval()
    loss, correct = 0.0, 0
    batch = EVAL_BATCH.get(x.device.type, EVAL_BATCH["cpu"])
    for k in range(0, len(y), batch):
        logits = net(x[k:k + batch])
        yb = y[k:k + batch]
        loss += float(F.cross_entropy(logits, yb, reduction="sum"))
        correct += int((logits.argmax(1) == yb).sum())
    return loss / len(y), correct / len(y)


def save_checkpoint(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)  # atomic: a kill while saving leaves the previous checkpoint intact


def _load_checkpoint(path: Path, fingerprint: dict) -> dict | None:
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a damaged file fails in many ways; it only costs a restart
        log.warning("ignoring unreadable checkpoint %s (%s); starting afresh", path, err)
        return None
    if state.get("fingerprint") != fingerprint:
        log.warning("ignoring checkpoint %s: written for other settings or code; starting afresh", path)
        return None
    return state


@contextmanager
def flushed_denormals():
    """Denormal floats flushed to zero while inside; yields whether the CPU supports it.

    A deep block's vanishing values turn denormal, which many Intel CPUs handle in microcode: on
    an Intel Xeon 16 layers trained 2-3x slower with them (benchmarks/bench_denormal.py).
    """
    supported = torch.set_flush_denormal(True)
    try:
        yield supported
    finally:
        torch.set_flush_denormal(False)


def train_mnist(data: dict[str, torch.Tensor], arch: str, depth: int, seed: int, cfg: MnistConfig,
                run_dir: str | os.PathLike | None = None, device: torch.device | None = None,
                progress: bool = True, desc: str = "") -> dict:
    """Train one network; returns ``net``, the per-epoch ``evals`` and timing.

    With ``run_dir`` a checkpoint is written there after every epoch and a matching one is resumed.
    """
    device = device or default_device()
    if device.type == "cuda":  # the same seed must give the same numbers on a GPU too
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    torch.manual_seed(seed)  # initial weights
    net = MnistNet(arch, depth, cfg.h, cfg.nf, cfg.block_bias_init).to(device)
    opt, sched = make_optimizer(net, cfg)
    order = torch.Generator().manual_seed(seed + 1)  # minibatch order, independent of the weights
    data = {k: v.to(device) for k, v in data.items()}
    eval_split = "val" if cfg.validation else "test"

    ckpt_path = Path(run_dir) / CHECKPOINT if run_dir is not None else None
    # Resume only what this very run would have written: same settings, data, code and device type.
    fingerprint = {"arch": arch, "depth": depth, "seed": seed, "config": asdict(cfg),
                   "n_train": len(data["y_train"]), "code": code_digest(MNIST_CODE), "device": device.type}
    evals: dict[str, dict] = {}
    wall, start_epoch = 0.0, 0
    state = _load_checkpoint(ckpt_path, fingerprint) if ckpt_path else None
    if state is not None:
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"]["torch"])
        order.set_state(state["rng"]["order"])
        if device.type == "cuda" and "cuda" in state["rng"]:
            torch.cuda.set_rng_state(state["rng"]["cuda"], device)
        evals, wall, start_epoch = state["evals"], state["wall_time_s"], state["epoch"]
        log.info("resuming %s from epoch %d", ckpt_path, start_epoch)

    n_train = len(data["y_train"])
    for epoch in range(start_epoch + 1, cfg.epochs + 1):
        t0 = time.perf_counter()
        lr = opt.param_groups[0]["lr"]
        with tqdm(total=n_train // cfg.batch_size * cfg.batch_size, unit="img", unit_scale=True,
                  desc=f"{desc or f'{arch} depth {depth}'} epoch {epoch}/{cfg.epochs}",
                  disable=None if progress else True, leave=False, mininterval=1.0) as bar:
            obj = train_epoch(net, opt, data["x_train"], data["y_train"], order, cfg.batch_size,
                              cfg.alpha, bar)
        sched.step()
        ev = {"objective": obj, "lr": lr}
        for split in ("train", eval_split):
            ev[f"{split}_loss"], ev[f"{split}_acc"] = evaluate(net, data[f"x_{split}"], data[f"y_{split}"])
        ev["epoch_time_s"] = time.perf_counter() - t0
        evals[str(epoch)] = ev
        wall += ev["epoch_time_s"]
        # One line per epoch (bars are drawn only on a terminal: disable=None).
        log.info("%s epoch %d: objective %.4f, train acc %.4f, %s acc %.4f, %.1f s", desc or arch, epoch,
                 obj, ev["train_acc"], eval_split, ev[f"{eval_split}_acc"], ev["epoch_time_s"])
        if ckpt_path is not None:
            rng = {"torch": torch.get_rng_state(), "order": order.get_state()}
            if device.type == "cuda":
                rng["cuda"] = torch.cuda.get_rng_state(device)
            save_checkpoint(ckpt_path, {
                "fingerprint": fingerprint, "epoch": epoch, "model": net.state_dict(),
                "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "rng": rng,
                "evals": evals, "wall_time_s": wall})
    return {"net": net, "evals": evals, "wall_time_s": wall, "resumed_from_epoch": start_epoch,
            "device": str(device), "n_train": n_train}


def summarize(evals: dict[str, dict], validation: bool) -> dict:
    """The run's result: the final epoch. Best-epoch test accuracy only as a labelled extra."""
    last = evals[str(max(map(int, evals)))]
    out = {k: v for k, v in last.items() if k.endswith(("_acc", "_loss"))}
    out["diverged"] = not all(math.isfinite(e["objective"]) for e in evals.values())
    if not validation:
        best = max(evals, key=lambda ep: (evals[ep]["test_acc"], -int(ep)))
        out["best_epoch_test_acc_selected_on_test"] = evals[best]["test_acc"]
        out["best_epoch_selected_on_test"] = int(best)
    return out


def run_mnist(root: str | os.PathLike, out_path: str | os.PathLike, study: str, setting: str,
              arch: str, depth: int, seed_index: int, settings: dict, base_seed: int,
              threads: int = 1, progress: bool = True, column: str | None = None,
              paper_column: str | None = None, extra_keys: dict | None = None) -> dict:
    """Train one run and write its folder: metrics.json (last: it marks a finished run), model.pt.

    ``study`` is ``table2`` or ``table2_tuning``; ``setting`` the protocol or the tuning grid point;
    ``column`` the table's column (default ``arch``), ``paper_column`` the paper's column it is
    compared with (default ``arch``). Seeds differ between studies, so no reported run shares a
    seed with a tuning run. ``extra_keys``: keys metrics.json adds (the confirmatory runs: their
    protocol's hash).
    """
    torch.set_num_threads(threads)
    cfg = MnistConfig(**settings)
    column, paper_column = column or arch, paper_column or arch
    data = load_data(root, cfg, base_seed)  # verifies the IDX files first
    seed = derive_seed(base_seed, "mnist", study, column, depth, seed_index)
    folder = Path(out_path).parent
    folder.mkdir(parents=True, exist_ok=True)
    with flushed_denormals() as flush_denormal:
        res = train_mnist(data, arch, depth, seed, cfg, run_dir=folder, progress=progress,
                          desc=f"{study}/{setting} {column} depth {depth} seed {seed_index}")
    net = res["net"]
    record = {
        "study": study, "setting": setting, "dataset": "mnist", "arch": arch, "column": column,
        "paper_column": paper_column, "depth": depth,
        "seed_index": seed_index, "seed": seed, "base_seed": base_seed, "config": asdict(cfg),
        **summarize(res["evals"], cfg.validation),
        "evals": res["evals"],  # the per-epoch curve, keyed by epoch
        "params_per_layer": net.block.params_per_layer() if net.block is not None else 0,
        "n_params": sum(p.numel() for p in net.parameters()),
        "n_train": res["n_train"], "n_eval": len(data["y_val" if cfg.validation else "y_test"]),
        "wall_time_s": res["wall_time_s"], "resumed_from_epoch": res["resumed_from_epoch"],
        "device": res["device"], "block_path": getattr(net, "block_path", None),
        "cpu_model": cpu_info()[0], "cpu_flags": cpu_vector_flags(), "threads": threads, "flush_denormal": flush_denormal, "git_commit": git_commit(), "versions": versions(),
        **(extra_keys or {}),
    }
    torch.save({"arch": arch, "depth": depth, "config": asdict(cfg), "state_dict": net.state_dict()},
               folder / "model.pt")
    write_json(out_path, record)
    (folder / CHECKPOINT).unlink(missing_ok=True)  # finished: a rerun starts afresh
    return record

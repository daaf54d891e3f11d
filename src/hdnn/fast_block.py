"""A fast CPU path for a block acting on a per-pixel state (B, nf, H, W), as in Table 2.

Every layer of MS1, MS2, MS3, H1 and H2 is a sequence of sub-steps, in column form

    y ← y + P_s tanh(W_s y + b_s),      W_s: (r, nf), b_s: (r,), P_s: (nf, r),

with W_s, b_s, P_s built from the block's own effective weights (``substeps``), so the fast path
shares the block's parameters: same state_dict, same optimiser, gradients through autograd. The
reference path (``Block.forward``) multiplies a channels-last (B·H·W, nf) state by nf × nf matrices,
thin products. Two faster paths:

- ``fused-cpp``: csrc/fused_block.cpp runs all sub-steps of all layers on a tile of pixels, one
  vector register wide, at a time, threads (OpenMP) taking whole chunks of pixels (JIT-built once
  per kind of CPU and ``-march`` target, $HDNN_KERNEL_MARCH, with ``torch.utils.cpp_extension.load``,
  cached on disk); its backward recomputes the forward per tile instead of storing activations;
- ``channel-major``: the state as (nf, B·H·W), each sub-step two ``addmm`` (no compiler needed).

Unforced, the path is the fastest of the three in a short measurement on first use, cached on disk
per CPU, target, dtype, thread count and torch version (``measured_paths``). FC (no residual), a
GPU or a dtype other than float32/float64 take the reference path; a failed build, one warning
and the next fastest path.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import time
import warnings
from pathlib import Path

import torch
from torch.autograd.function import once_differentiable

from hdnn.blocks import Block, make_block
from hdnn.cpu import cpu_info

log = logging.getLogger(__name__)

PATHS = ("fused-cpp", "channel-major", "reference")
# Forces a path (the tests and the benchmark compare them); unset, the measured fastest is used.
PATH_ENV = "HDNN_BLOCK_PATH"
# The -march the fused kernel is built for: native (this CPU), or e.g. x86-64-v3 (AVX2).
MARCH_ENV = "HDNN_KERNEL_MARCH"
CHOICES_FILE = "block_paths.json"  # measured path times, in the extensions folder
SUPPORTED_ARCHS = ("MS1", "MS2", "MS3", "H1", "H2")
FUSED_MAX_NF = 32  # MAX_NF of csrc/fused_block.cpp: wider blocks take the channel-major path


def substeps(block: Block) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """W (S, r, nf), b (S, r), P (S, nf, r) of the S = depth × k sub-steps in order; None for FC.

    MS1 and MS3 update one half of the state per sub-step (k = 2, r = nf/2); MS2, H1, H2 the whole
    state (k = 1, r = nf). Built by differentiable ops from the parameters, once per forward pass.
    """
    if block.arch not in SUPPORTED_ARCHS:
        return None
    eff = block._effective()
    h = block.h
    if block.arch in ("H1", "H2"):
        # Column form of the row step y + σ(y Kᵀ + b) (h K Jᵀ): P = (h K Jᵀ)ᵀ = h J Kᵀ.
        w = block._prepare(eff)
        layer = [(eff["K"], w["b"], w["hKJt"].mT)]
    elif block.arch == "MS2":
        K = eff["K"]
        layer = [(K, eff["b"], h * torch.eye(block.nf, dtype=K.dtype, device=K.device).expand_as(K))]
    else:
        first, second = ("K0", "K0") if block.arch == "MS1" else ("K1", "K2")
        A, B = eff[first], eff[second]
        zero = torch.zeros_like(A)
        eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device).expand_as(A)
        row = lambda left, right: torch.cat([left, right], -1)   # (m, nf): acts on [y; z]
        col = lambda top, bottom: torch.cat([top, bottom], -2)   # (nf, m): writes into [y; z]
        if block.arch == "MS1":
            # z ← z − h σ(K₀ᵀ y + b₁), then y ← y + h σ(K₀ z + b₂).
            layer = [(row(A.mT, zero), eff["b1"], col(zero, -h * eye)),
                     (row(zero, A), eff["b2"], col(h * eye, zero))]
        else:
            # y ← y + h K₁ᵀ σ(K₁ z + b₁), then z ← z − h K₂ᵀ σ(K₂ y + b₂).
            layer = [(row(zero, A), eff["b1"], col(h * A.mT, zero)),
                     (row(B, zero), eff["b2"], col(zero, -h * B.mT))]
    out = []
    for parts in zip(*layer):  # W, b, P: (sets, k, ...) → (depth · k, ...)
        t = torch.stack(parts, 1)
        t = t.expand(block.depth, *t.shape[1:]) if block.time_invariant else t
        out.append(t.reshape(-1, *t.shape[2:]))
    return tuple(out)


def unsupported_reason(block: Block, device: torch.device | str) -> str | None:
    """Why the fast path cannot run ``block`` on ``device`` (None: it can)."""
    if block.arch not in SUPPORTED_ARCHS:
        return f"arch {block.arch} has no residual sub-step form"
    if torch.device(device).type != "cpu":
        return f"device {torch.device(device).type}: the fast path is for CPUs"
    dtype = next(block.parameters()).dtype
    if dtype not in (torch.float32, torch.float64):
        return f"dtype {dtype}: the fast path takes float32 or float64"
    return None


def supports(block: Block, device: torch.device | str) -> bool:
    return unsupported_reason(block, device) is None


def select_path(block: Block, device: torch.device | str, path: str | None = None) -> str:
    """The path ``block_forward`` takes: ``path``, else $HDNN_BLOCK_PATH, else the fastest measured
    (``measured_paths``) that can run the block.

    An unsupported block or device always takes the reference path.
    """
    path = path or os.environ.get(PATH_ENV) or None
    if path is not None and path not in PATHS:
        raise ValueError(f"path={path!r} ({PATH_ENV}) is not allowed: one of {', '.join(PATHS)}")
    if path == "reference" or not supports(block, device):
        return "reference"
    if path is None:
        times = measured_paths(next(block.parameters()).dtype, torch.get_num_threads())
        path = min(times, key=times.get)
        if path == "reference":
            return path
    if path == "channel-major" or block.nf > FUSED_MAX_NF or fused_extension() is None:
        return "channel-major"
    return "fused-cpp"


def _time_path(path: str, dtype: torch.dtype, repeats: int = 3) -> float:
    """Best seconds of ``repeats`` forward + backward passes of Table 2's deepest block (16-layer
    H2, nf = 8) on 20 MNIST-sized states through ``path`` (after one untimed pass)."""
    # Its own random numbers and autograd: the run that asked (maybe evaluating) is left as it was.
    with torch.random.fork_rng(devices=[]), torch.inference_mode(False), torch.enable_grad():
        torch.manual_seed(0)
        block = make_block("H2", 8, 16, 0.05).to(dtype)
        x = torch.randn(20, 8, 28, 28, dtype=dtype, requires_grad=True)
        best = float("inf")
        for k in range(repeats + 1):
            t0 = time.perf_counter()
            block_forward(block, x, path).square().sum().backward()
            best = min(best, time.perf_counter() - t0) if k else best
    return best


def _choice_key(dtype: torch.dtype, threads: int) -> str:
    return (f"{cpu_info()[0]} [{_cpu_tag()}] -march={kernel_target()} {dtype} {threads} threads "
            f"torch {torch.__version__}")


@functools.cache
def measured_paths(dtype: torch.dtype, threads: int) -> dict[str, float]:
    """Seconds per forward + backward pass of each path (``_time_path``), measured once per CPU
    kind, kernel target, dtype, thread count and torch version, then read from $TORCH_EXTENSIONS_DIR
    (or ~/.cache/hdnn/torch_extensions)/block_paths.json. Without the fused kernel (a failed
    build) the other two are measured and nothing is written: a later build is measured afresh."""
    file, key = _choices_file(), _choice_key(dtype, threads)
    try:
        known = json.loads(file.read_text())
    except (OSError, ValueError):
        known = {}
    if key in known:
        return known[key]
    usable = [p for p in PATHS if p != "fused-cpp" or fused_extension() is not None]
    times = {p: _time_path(p, dtype) for p in usable}
    log.info("block path for %s: %s (%s per pass of a 16-layer H2 block on 20 images)", key,
             min(times, key=times.get), ", ".join(f"{p} {1e3 * s:.1f} ms" for p, s in times.items()))
    if len(usable) == len(PATHS):
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({**known, key: times}, indent=1))
        tmp.replace(file)  # atomic: jobs measuring at once each leave a whole file
    return times


def _choices_file() -> Path:
    return _extensions_root() / CHOICES_FILE


def _check_input(block: Block, x: torch.Tensor) -> None:
    block._check_input(x)
    if x.dim() != 4:
        raise ValueError(f"x with shape {tuple(x.shape)} is not allowed: the fast path takes a "
                         f"per-pixel state (batch, {block.nf}, height, width)")


def channel_major_forward(block: Block, x: torch.Tensor) -> torch.Tensor | None:
    """The block on x (B, nf, H, W) through a channel-major state and addmm; None for FC."""
    _check_input(block, x)
    steps = substeps(block)
    if steps is None:
        return None
    B, nf = x.shape[:2]
    y = x.reshape(B, nf, -1).transpose(0, 1).reshape(nf, -1)  # (nf, B·H·W), one copy
    for W, b, P in zip(*(t.unbind(0) for t in steps)):
        y = torch.addmm(y, P, torch.tanh(torch.addmm(b.unsqueeze(1), W, y)))
    return y.reshape(nf, B, -1).transpose(0, 1).reshape(x.shape)


def _cpu_tag() -> str:
    """A build (-march=native) runs only on CPUs with the same instructions: one folder per set of
    CPU flags, so a home folder shared by different machines (a cluster) keeps one per kind."""
    model, flags = cpu_info()
    return hashlib.sha256(" ".join([model, *flags]).encode()).hexdigest()[:12]


def kernel_target() -> str:
    return os.environ.get(MARCH_ENV) or "native"


def _extensions_root() -> Path:
    return Path(os.environ.get("TORCH_EXTENSIONS_DIR") or Path.home() / ".cache" / "hdnn" / "torch_extensions")


def _build_dir() -> Path:
    path = _extensions_root() / f"hdnn_fused_block_{kernel_target()}_{_cpu_tag()}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def compile_flags(target: str, openmp: bool = True) -> list[str]:
    """g++ flags of the fused kernel. No -ffast-math: float32 runs as fast without it
    (benchmarks/README.md), and it lets g++ reorder sums and assume no NaN (a diverged run)."""
    return ["-O3", f"-march={target}", "-fopenmp" if openmp else "-fopenmp-simd", "-Wno-psabi"]


def build_extension():
    """Compile (first call) or load (later calls: ninja finds nothing to do) the fused kernel;
    its operators are then ``torch.ops.hdnn_fused.forward``, ``.backward`` and ``.build_info``.
    Without OpenMP (a compiler that lacks it) it is built for one thread, with one warning."""
    from torch.utils.cpp_extension import load  # imported late: it logs about CUDA on import

    build_dir, target = _build_dir(), kernel_target()
    if not any(build_dir.glob("*.so")):
        log.info("building the fused kernel for -march=%s, once per CPU kind, about 10-60 s", target)
    source = str(Path(__file__).with_name("csrc") / "fused_block.cpp")
    kwargs = dict(name="hdnn_fused_block", sources=[source], build_directory=str(build_dir),
                  is_python_module=False, verbose=False)
    try:
        load(extra_cflags=compile_flags(target), extra_ldflags=["-fopenmp"], **kwargs)
    except Exception as err:  # most likely no OpenMP; if not, the second build fails too
        load(extra_cflags=compile_flags(target, openmp=False), **kwargs)
        first = (str(err).strip().splitlines() or [""])[0][:200]
        warnings.warn(f"hdnn fused-cpp kernel built without OpenMP ({type(err).__name__}: {first}): "
                      f"it runs on one thread", RuntimeWarning, stacklevel=2)
    return torch.ops.hdnn_fused


@functools.cache
def fused_extension():
    """The fused kernel's module, or None (with one warning) when it cannot be built."""
    try:
        return build_extension()
    except Exception as err:  # no compiler, a failed compile or link: all mean the same here
        first = (str(err).strip().splitlines() or [""])[0][:200]
        warnings.warn(f"hdnn fused-cpp block path unavailable ({type(err).__name__}: {first}); "
                      f"using the next fastest path", RuntimeWarning, stacklevel=2)
        return None


class _FusedSubsteps(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, W, b, P):
        ctx.save_for_backward(x, W, b, P)
        return fused_extension().forward(x, W, b, P)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, W, b, P = ctx.saved_tensors
        return tuple(fused_extension().backward(x, grad.contiguous(), W, b, P))


def fused_forward(block: Block, x: torch.Tensor) -> torch.Tensor | None:
    """The block on x (B, nf, H, W) through the fused C++ kernel; None for FC."""
    _check_input(block, x)
    steps = substeps(block)
    if steps is None:
        return None
    if fused_extension() is None:
        raise RuntimeError("the fused C++ kernel could not be built (see the warning); "
                           "use block_forward, which falls back to the channel-major path")
    W, b, P = (t.contiguous() for t in steps)
    x3 = x.reshape(*x.shape[:2], -1).contiguous()
    if torch.is_grad_enabled() and any(t.requires_grad for t in (x3, W, b, P)):
        y = _FusedSubsteps.apply(x3, W, b, P)
    else:  # evaluation: no autograd node, nothing saved
        y = fused_extension().forward(x3, W, b, P)
    return y.view(x.shape)


def block_forward(block: Block, x: torch.Tensor, path: str | None = None) -> torch.Tensor:
    """``block(x)`` through the path ``select_path`` picks (or ``path``)."""
    chosen = select_path(block, x.device, path)
    if chosen == "reference":
        # Channels-last memory makes the block's channels-last view contiguous (no copy per layer).
        return block(x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x)
    return (fused_forward if chosen == "fused-cpp" else channel_major_forward)(block, x)

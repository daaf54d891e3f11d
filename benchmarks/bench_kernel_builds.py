"""The fused per-pixel kernel built several ways, and torch.compile, timed on this CPU (issue 25).

Builds src/hdnn/csrc/fused_block.cpp into scratch folders with ``hdnn.fast_block.compile_flags``
for two targets (``-march=native``, and ``-march=x86-64-v3``, an AVX2 laptop's code on this CPU;
the tile is one vector register of the target: 16 floats with AVX-512, 8 with AVX2), each as
hdnn builds it (OpenMP), without OpenMP, and with ``-ffast-math`` (glibc's vector tanh, libmvec).
Beside them, in the same run, ``torch.compile`` of the block's reference and channel-major paths.
Each variant runs in its own process (the builds register the same operator names), is checked
against the block's reference path (output and every gradient, float32), then one forward +
backward pass of the 16-layer H2 block on a batch of 100 MNIST-sized states (8 × 28 × 28) is
timed, median of ``--repeats`` rounds of ``--batches`` batches, extrapolated to a training epoch
(600 batches), with 1 and 2 threads; the forward pass alone (what evaluation costs) too.

Run:  PYTHONPATH=src python benchmarks/bench_kernel_builds.py [--repeats 5] [--batches 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BATCHES_PER_EPOCH = 600
VARIANTS = [(march, kind) for march in ("native", "x86-64-v3") for kind in ("hdnn", "no OpenMP", "-ffast-math")]
COMPILED = ["torch.compile(reference)", "torch.compile(channel-major)"]


def _fused(build_dir: str, march: str, kind: str):
    """Build one variant of the kernel; returns (forward(block, x), build seconds, note)."""
    import torch
    from torch.utils.cpp_extension import load

    from hdnn import fast_block

    cflags = fast_block.compile_flags(march, openmp=kind != "no OpenMP")
    ldflags = [] if kind == "no OpenMP" else ["-fopenmp"]
    if kind == "-ffast-math":
        cflags, ldflags = cflags + ["-ffast-math"], ldflags + ["-lmvec"]
    source = Path(fast_block.__file__).with_name("csrc") / "fused_block.cpp"
    t0 = time.perf_counter()
    load(name="hdnn_fused_variant", sources=[str(source)], build_directory=build_dir,
         extra_cflags=cflags, extra_ldflags=ldflags, is_python_module=False, verbose=False)
    build_s = time.perf_counter() - t0
    # fused_forward through this library: fused_extension answers with the operators just loaded.
    fast_block.fused_extension = lambda: torch.ops.hdnn_fused
    vec_bytes, openmp = torch.ops.hdnn_fused.build_info()
    return fast_block.fused_forward, build_s, f"tile {vec_bytes // 4} floats, OpenMP {'yes' if openmp else 'no'}"


def _compiled(name: str):
    import torch

    from hdnn.fast_block import channel_major_forward

    def reference(block, x):
        return block(x.contiguous(memory_format=torch.channels_last))

    fn = torch.compile(reference if name == "torch.compile(reference)" else channel_major_forward)
    return fn, None, "inductor, C++ backend"


def time_variant(label: str, build_dir: str, batches: int, repeats: int) -> dict:
    """In this process: build one variant, check it, time it. Returns its row."""
    import torch

    from hdnn.blocks import make_block

    if label in COMPILED:
        forward, build_s, note = _compiled(label)
    else:
        march, kind = label.split("|")
        forward, build_s, note = _fused(build_dir, march, kind)
    torch.manual_seed(0)
    block = make_block("H2", 8, 16, 0.05)
    x = torch.randn(100, 8, 28, 28, requires_grad=True)
    g = torch.randn_like(x)
    params = [x, *block.parameters()]

    def grads(fn):
        out = fn(block, x)
        return [out.detach(), *torch.autograd.grad(out, params, g)]

    t0 = time.perf_counter()
    got = grads(forward)  # torch.compile compiles here
    build_s = build_s if build_s is not None else time.perf_counter() - t0
    ref = grads(lambda b, x: b(x.contiguous(memory_format=torch.channels_last)))
    err = max(float((a - r).abs().max() / r.abs().max()) for a, r in zip(got, ref))

    row = {"label": label, "note": note, "build_s": round(build_s, 1), "max_rel_error": err}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for name, step in (("train", lambda: grads(forward)), ("forward", lambda: forward(block, x.detach()))):
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                for _ in range(batches):
                    step()
                times.append(time.perf_counter() - t0)
            row[f"{name}_{threads}t"] = round(statistics.median(times) / batches * BATCHES_PER_EPOCH, 1)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--one", help=argparse.SUPPRESS)   # internal: LABEL,BUILD_DIR
    args = ap.parse_args()
    if args.one:
        label, build_dir = args.one.split(",")
        print(json.dumps(time_variant(label, build_dir, args.batches, args.repeats)))
        return
    from timing import cpu_line

    print(cpu_line())
    print("16-layer H2 block, batch 100 × 8 × 28 × 28, float32, forward + backward (training) and forward "
          f"alone, median of {args.repeats} × {args.batches} batches, extrapolated to {BATCHES_PER_EPOCH} "
          "batches (the block only: no convolution, no optimiser)")
    print("| variant | build | build s | max error vs reference (relative to the largest value) | "
          "training s, 1 thread | 2 threads | forward s, 1 thread | 2 threads |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        for k, label in enumerate([f"{m}|{kind}" for m, kind in VARIANTS] + COMPILED):
            build_dir = Path(scratch) / str(k)
            build_dir.mkdir()
            proc = subprocess.run([sys.executable, __file__, "--one", f"{label},{build_dir}",
                                   "--repeats", str(args.repeats), "--batches", str(args.batches)],
                                  capture_output=True, text=True,
                                  env={**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(build_dir)})
            name = label.replace("|", ", ")
            if proc.returncode != 0:
                print(f"| {name} | failed: {proc.stderr.strip().splitlines()[-1][:120]} ||||||")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"| {name} | {r['note']} | {r['build_s']} | {r['max_rel_error']:.1e} | {r['train_1t']} | "
                  f"{r['train_2t']} | {r['forward_1t']} | {r['forward_2t']} |", flush=True)


if __name__ == "__main__":
    main()

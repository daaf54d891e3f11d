"""The fused per-pixel kernel built several ways, timed on this CPU: groundwork for issue 19.

Builds variants of src/hdnn/csrc/fused_block.cpp into a scratch folder: the target instruction
set (``-march=native`` as hdnn.fast_block builds it, and ``-march=x86-64-v3``, an AVX2 laptop's
code on this CPU), the tile width (the source's T = 16 floats, one AVX-512 register, or 8, one AVX2
register) and OpenMP (``-fopenmp``: ATen's parallel_for then splits tiles between threads; without
it, it runs serially). The source in src/ is not changed: each variant is a patched copy, built
and timed in its own process (all register the same operator names). Each variant is checked
against the block's reference path (output and input gradient), then one forward + backward pass of the 16-layer H2 block on a
batch of 100 MNIST-sized states (8 × 28 × 28) is timed, extrapolated to a training epoch (600
batches), with 1 and 2 threads.

Run:  PYTHONPATH=src python benchmarks/bench_kernel_builds.py [--repeats 5] [--batches 10]
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "hdnn" / "csrc" / "fused_block.cpp"
TILE_LINE = "constexpr int64_t T = 16;"
BATCHES_PER_EPOCH = 600


def time_variant(build_dir: str, march: str, tile: int, openmp: bool, batches: int, repeats: int) -> dict:
    """In this process: build one variant, check it, time it. Returns its row."""
    import time

    import torch
    from torch.utils.cpp_extension import load

    from hdnn.blocks import make_block
    from hdnn.fast_block import substeps

    src = Path(build_dir) / "fused_block.cpp"
    text = SOURCE.read_text()
    assert TILE_LINE in text, f"{SOURCE} no longer has {TILE_LINE!r}: update this benchmark"
    src.write_text(text.replace(TILE_LINE, f"constexpr int64_t T = {tile};"))
    omp = ["-fopenmp"] if openmp else ["-fopenmp-simd"]
    t0 = time.perf_counter()
    load(name="hdnn_fused_variant", sources=[str(src)], build_directory=build_dir,
         extra_cflags=["-O3", f"-march={march}", "-ffast-math", *omp, "-Wno-psabi"],
         extra_ldflags=["-lmvec", *(["-fopenmp"] if openmp else [])], is_python_module=False, verbose=False)
    build_s = time.perf_counter() - t0
    ops = torch.ops.hdnn_fused

    torch.manual_seed(0)
    block = make_block("H2", 8, 16, 0.05)
    W, b, P = (t.detach().contiguous() for t in substeps(block))
    x = torch.randn(100, 8, 28 * 28)
    g = torch.randn_like(x)
    # Correctness: the block's own (channels-last) forward, and its gradient, on the same input.
    xr = x.clone().requires_grad_(True)
    ref = block(xr.view(100, 8, 28, 28).contiguous(memory_format=torch.channels_last)).reshape(100, 8, -1)
    ref.backward(g)
    out = ops.forward(x, W, b, P)
    gx = ops.backward(x, g, W, b, P)[0]
    rel = lambda a, r: float((a - r).abs().max() / r.abs().max())  # noqa: E731
    err = max(rel(out, ref.detach()), rel(gx, xr.grad))

    row = {"march": march, "tile": tile, "openmp": openmp, "build_s": round(build_s, 1),
           "max_rel_error": err}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(batches):
                ops.forward(x, W, b, P)
                ops.backward(x, g, W, b, P)
            best = min(best, time.perf_counter() - t0)
        row[f"epoch_s_{threads}t"] = round(best / batches * BATCHES_PER_EPOCH, 1)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--one", help=argparse.SUPPRESS)   # internal: MARCH,TILE,OPENMP,BUILD_DIR
    args = ap.parse_args()
    if args.one:
        march, tile, openmp, build_dir = args.one.split(",")
        print(json.dumps(time_variant(build_dir, march, int(tile), openmp == "1", args.batches, args.repeats)))
        return
    from timing import cpu_line

    print(cpu_line())
    print("16-layer H2 block, batch 100 × 8 × 28 × 28, forward + backward through the fused kernel, "
          f"extrapolated to {BATCHES_PER_EPOCH} batches (the block only: no convolution, no optimiser)")
    print("| -march | tile | OpenMP | build s | max error vs reference (relative to the largest value) | epoch s, 1 thread | epoch s, 2 threads |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        for march, tile, openmp in itertools.product(("native", "x86-64-v3"), (16, 8), (False, True)):
            build_dir = Path(scratch) / f"{march}_{tile}_{int(openmp)}"
            build_dir.mkdir()
            proc = subprocess.run([sys.executable, __file__, "--one", f"{march},{tile},{int(openmp)},{build_dir}",
                                   "--repeats", str(args.repeats), "--batches", str(args.batches)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"| {march} | {tile} | {openmp} | failed: {proc.stderr.strip().splitlines()[-1][:120]} |||||")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"| {r['march']} | {r['tile']} | {'yes' if r['openmp'] else 'no'} | {r['build_s']} | "
                  f"{r['max_rel_error']:.1e} | {r['epoch_s_1t']} | {r['epoch_s_2t']} |", flush=True)


if __name__ == "__main__":
    main()

"""Training speed of Table 2's deepest network (16-layer H2 on MNIST-sized input), per thread count.

Times ``hdnn.mnist_train.train_epoch`` (the code the runs use: preloaded tensors, no DataLoader)
on ``--batches`` minibatches of 100 random 28×28 images and extrapolates to one epoch of 60 000
images; then one evaluation pass (what every epoch adds, over the training and test sets). The
median of ``--repeats`` rounds is kept. Each block path of ``hdnn.fast_block`` (``--paths``) is
timed in the same run, one after the other for each thread count (on a busy machine compare the
CPU times, which vary less than wall times). The fused kernel is built for $HDNN_KERNEL_MARCH
(default native; x86-64-v3 for AVX2), once per target and CPU.

Run:  PYTHONPATH=src python benchmarks/bench_mnist.py [--batches 30] [--threads 1 2] [--repeats 3]
      [--paths reference channel-major fused-cpp] [--arch MS1 --h 0.4] [--device cuda]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from hdnn.fast_block import PATH_ENV, PATHS, fused_extension, kernel_target
from hdnn.mnist_train import MnistConfig, MnistNet, evaluate, make_optimizer, train_epoch
from timing import cpu_line

EPOCH_IMAGES = 60_000
EVAL_IMAGES = 70_000  # the training and test sets, evaluated after every epoch


def median_time(fn, repeats: int, device: torch.device) -> tuple[float, float]:
    """Median wall and median process CPU seconds (all threads) of ``repeats`` calls. On a loaded
    machine the CPU time, with one thread, is the steadier of the two."""
    times = []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # kernels run asynchronously
        times.append((time.perf_counter() - t0, time.process_time() - c0))
    return statistics.median(t for t, _ in times), statistics.median(c for _, c in times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", default="H2")
    ap.add_argument("--depth", type=int, default=16)
    ap.add_argument("--h", type=float, default=0.05)
    ap.add_argument("--batches", type=int, default=30)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--paths", nargs="+", default=list(reversed(PATHS)), choices=PATHS,
                    help="block paths to time (a GPU always runs the reference path)")
    args = ap.parse_args()
    device = torch.device(args.device)

    cfg = MnistConfig(h=args.h, weight_decay=2e-4)
    n = args.batches * cfg.batch_size
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 1, 28, 28, generator=g).to(device)
    y = torch.randint(0, 10, (n,), generator=g).to(device)
    print(cpu_line())
    print(f"{args.arch}, {args.depth} layers, batch {cfg.batch_size}, {args.batches} minibatches "
          f"timed (median of {args.repeats}), extrapolated to {EPOCH_IMAGES} images; torch "
          f"{torch.__version__}, {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}")
    if "fused-cpp" in args.paths and device.type == "cpu" and fused_extension() is not None:
        vec_bytes, openmp = fused_extension().build_info()
        print(f"fused kernel: -march={kernel_target()}, tile {vec_bytes // 4} floats, OpenMP {'yes' if openmp else 'no'}")
    for threads in args.threads:
        torch.set_num_threads(threads)
        base = None
        for path in args.paths:
            os.environ[PATH_ENV] = path
            torch.manual_seed(0)
            net = MnistNet(args.arch, args.depth, args.h, cfg.nf).to(device)
            opt, _ = make_optimizer(net, cfg)
            order = torch.Generator().manual_seed(1)
            train_epoch(net, opt, x[:2 * cfg.batch_size], y[:2 * cfg.batch_size], order,
                        cfg.batch_size, cfg.alpha)  # warm-up: first-call allocations, the build
            train_s, train_cpu = median_time(
                lambda: train_epoch(net, opt, x, y, order, cfg.batch_size, cfg.alpha), args.repeats, device)
            eval_s, _ = median_time(lambda: evaluate(net, x, y), args.repeats, device)
            epoch_s, eval_epoch_s = train_s * EPOCH_IMAGES / n, eval_s * EVAL_IMAGES / n
            base = base or epoch_s
            print(f"threads {threads}, {getattr(net, 'block_path', 'no block'):13s}: training "
                  f"{epoch_s:6.1f} s per epoch ({base / epoch_s:4.1f}x as fast as the first path; "
                  f"CPU {train_cpu * EPOCH_IMAGES / n:6.1f} s), evaluation +{eval_epoch_s:5.1f} s "
                  f"({100 * eval_epoch_s / epoch_s:.0f}% of the epoch), "
                  f"total {epoch_s + eval_epoch_s:6.1f} s per epoch")

if __name__ == "__main__":
    main()

"""Training with denormals flushed to zero or not, on real MNIST (``hdnn.mnist_train.flushed_denormals``).

A deep block's vanishing values turn denormal; some CPUs handle those in microcode. Random images and
weights (bench_mnist.py) rarely produce them, so this trains Table 2's own network from its `paper`
settings on the first ``--batches`` minibatches of MNIST, from the same start each time, in the order
off, on, off (the machine is noisy: compare the ratio), and prints the time and the final loss of each.

Run:  PYTHONPATH=src:benchmarks python benchmarks/bench_denormal.py --root results/data [--arch H2 --depth 16 --batches 200]
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch

from hdnn import settings as S
from hdnn.config_check import load_config
from hdnn.mnist import load_mnist_tensors
from hdnn.mnist_train import MnistConfig, MnistNet, flushed_denormals, make_optimizer, objective
from timing import cpu_line


def train(arch: str, depth: int, cfg: MnistConfig, x, y, batches: int) -> tuple[float, float]:
    """Seconds and last loss of ``batches`` Adam steps from seed 0."""
    torch.manual_seed(0)
    net = MnistNet(arch, depth, cfg.h, cfg.nf, cfg.block_bias_init)
    opt, _ = make_optimizer(net, cfg)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(1))
    t0 = time.perf_counter()
    for k in range(batches):
        idx = order[k * cfg.batch_size:(k + 1) * cfg.batch_size]
        loss, _ = objective(net, x[idx], y[idx], cfg.alpha)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0, loss.item()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True, help="MNIST root prepared by python -m hdnn.mnist")
    ap.add_argument("--arch", default="H2")
    ap.add_argument("--depth", type=int, default=16)
    ap.add_argument("--batches", type=int, default=200)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = MnistConfig(**S.table2_settings(load_config(), "paper", args.arch))
    x, y = load_mnist_tensors(args.root, train=True)
    print(cpu_line())
    times = {}
    for flush in (False, True, False):
        with flushed_denormals() if flush else contextlib.nullcontext():
            seconds, loss = train(args.arch, args.depth, cfg, x, y, args.batches)
        times.setdefault(flush, []).append(seconds)
        print(f"{args.arch} depth {args.depth}, {args.batches} batches, flushed {flush}: {seconds:.1f} s, last loss {loss:.6f}")
    print(f"not flushed / flushed: {min(times[False]) / times[True][0]:.2f}x (the faster 'off' round)")


if __name__ == "__main__":
    main()

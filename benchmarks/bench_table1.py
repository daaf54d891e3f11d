"""Training speed of Table 1 cells: one 64-layer Swiss-roll cell (1600 iterations), seeds trained
alone vs batched, both schemes, one thread. Usage:

    PYTHONPATH=src python benchmarks/bench_table1.py [--depth 64] [--seeds 5]

The authors' code needs about 64 s for one such run (one seed) on one core of this machine.
"""

import argparse
import time

import torch

from hdnn.data import make_dataset
from hdnn.train import TrainConfig, train_cell


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depth", type=int, default=64)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--arch", default="H1")
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = make_dataset("swiss_roll")
    print(f"{args.arch}, {args.depth} layers, 50 epochs x 32 minibatches, 1 thread")
    for scheme in ("alternating", "joint"):
        cfg = TrainConfig(scheme=scheme)
        t = time.perf_counter()
        train_cell(data, args.arch, args.depth, [0], cfg, progress=False)
        one = time.perf_counter() - t
        t = time.perf_counter()
        train_cell(data, args.arch, args.depth, list(range(args.seeds)), cfg, progress=False)
        many = time.perf_counter() - t
        print(f"{scheme:12s} 1 seed: {one:6.1f} s   {args.seeds} seeds batched: {many:6.1f} s "
              f"({many / args.seeds:5.1f} s per run)")


if __name__ == "__main__":
    main()

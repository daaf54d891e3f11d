"""Cost of tracking ‖∂y_N/∂y_ℓ‖₂ (hdnn.gradients) during training, on one CPU thread.

Trains a 64-layer H1 on random 4-d data (batch 125, Adam, a linear logistic output layer, BCE
loss) without tracking and with tracking at every iteration (all three kinds or the batch-mean
Jacobian only; all layers or the paper's ℓ = 1, 11, ..., 61), and prints the time of the
iterations and the overhead of tracking. Modes run interleaved, each on its own copy of the same
initial model, and the best of ``--repeats`` rounds is kept, so that other processes on the
machine disturb the comparison less. Wall-clock and this thread's CPU time are both shown.

Run:  PYTHONPATH=src python benchmarks/bench_gradients.py [--iterations 200] [--repeats 5]
"""

from __future__ import annotations

import argparse
import copy
import time
from typing import Callable

import torch
from torch import nn

from hdnn.blocks import make_block
from hdnn.gradients import forward_with_trajectory, gradient_norms, norm_records
from timing import print_overheads  # benchmarks/timing.py, beside this script

PAPER_LAYERS = list(range(1, 64, 10))          # ℓ = 1, 11, ..., 61 (Figure 2)


def make_trainer(block: nn.Module, head: nn.Module, data: torch.Tensor, labels: torch.Tensor,
                 batch: int, tracking: dict | None) -> Callable[[int], None]:
    """One training iteration per call; with ``tracking`` (gradient_norms' keyword arguments),
    the norms are recorded."""
    opt = torch.optim.Adam([*block.parameters(), *head.parameters()], lr=0.05)
    loss_fn = nn.BCEWithLogitsLoss()
    records: list[dict] = []
    n_batches = len(data) // batch

    def iteration(i: int) -> None:
        rows = slice((i % n_batches) * batch, (i % n_batches + 1) * batch)
        y0, c = data[rows], labels[rows]
        opt.zero_grad()
        if tracking is not None:
            yN, trajectory = forward_with_trajectory(block, y0)
            # Before opt.step(), so that the weights are those that produced the trajectory.
            records.extend(norm_records(gradient_norms(block, trajectory=trajectory, **tracking), i))
        else:
            yN = block(y0)
        loss_fn(head(yN), c).backward()
        opt.step()

    return iteration


def timed(step: Callable[[int], None], start: int, iterations: int) -> tuple[float, float]:
    """Wall-clock and thread CPU seconds of ``iterations`` calls."""
    wall, cpu = time.perf_counter(), time.thread_time()
    for i in range(start, start + iterations):
        step(i)
    return time.perf_counter() - wall, time.thread_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--depth", type=int, default=64)
    parser.add_argument("--batch", type=int, default=125)
    args = parser.parse_args()
    if min(args.iterations, args.repeats, args.depth, args.batch) < 1:
        parser.error("--iterations, --repeats, --depth and --batch must be positive")

    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = torch.randn(40 * args.batch, 4)
    labels = (data[:, :1] * data[:, 3:] > 0).float()
    block = make_block("H1", 4, args.depth, 0.8 / args.depth)        # T = 0.8 as in the paper
    head = nn.Linear(4, 1)
    paper = [layer for layer in PAPER_LAYERS if layer <= args.depth]
    every = f"all {args.depth + 1} layers"
    some = f"{len(paper)} layers ({', '.join(map(str, paper[:2]))}...)"
    modes = {"untracked": None,
             f"all kinds, {every}": {},
             f"all kinds, {some}": {"layers": paper},
             f"mean_jacobian, {every}": {"kinds": ["mean_jacobian"]},
             f"mean_jacobian, {some}": {"layers": paper, "kinds": ["mean_jacobian"]}}
    trainers = {name: make_trainer(copy.deepcopy(block), copy.deepcopy(head), data, labels,
                                   args.batch, tracking)
                for name, tracking in modes.items()}

    best = {name: (float("inf"), float("inf")) for name in trainers}
    for step in trainers.values():                                    # warm-up
        timed(step, 0, 10)
    for r in range(args.repeats):
        for name, step in trainers.items():
            wall, cpu = timed(step, 10 + r * args.iterations, args.iterations)
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))

    print(f"H1, {args.depth} layers, nf 4, batch {args.batch}, {args.iterations} iterations, "
          f"1 thread; best of {args.repeats} (wall | thread CPU)")
    print_overheads(best, args.iterations, width=36, digits=3)


if __name__ == "__main__":
    main()

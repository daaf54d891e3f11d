"""Cost of tracking the gradient norms during the actual Figure 2 training, on one CPU thread.

Trains one Figure 2 network (default: the 64-layer time-varying H1) with hdnn.train.train_cell,
the settings and tracked kinds/layers read from config/config.yaml exactly as the workflow does,
without tracking and with it, for 1 seed and for 3 seeds stacked (one job of the workflow).
Modes run interleaved and the best of ``--repeats`` rounds is kept, so that other processes on
the machine disturb the comparison less. Tracked and untracked runs are checked to give the same
accuracy and loss curve. Wall-clock and this thread's CPU time are both shown.

Run from the repository root:
    PYTHONPATH=src python benchmarks/bench_figure2.py [--network H1] [--epochs 30] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import torch
import yaml

from hdnn import settings as S
from hdnn.data import make_dataset
from hdnn.provenance import derive_seed
from hdnn.train import TrainConfig, train_cell
from timing import print_overheads  # benchmarks/timing.py, beside this script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="H1")
    parser.add_argument("--epochs", type=int, default=None, help="default: figure2.settings")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 3])
    args = parser.parse_args()

    torch.set_num_threads(1)
    config = yaml.safe_load(open("config/config.yaml"))
    f2 = config["figure2"]
    net = S.figure2_network(config, args.network)
    settings = S.figure2_settings(config, args.network)
    if args.epochs is not None:
        settings["epochs"] = args.epochs
    cfg = TrainConfig(**settings)
    data = make_dataset(f2["dataset"], config["n_points"], seed=config["base_seed"])
    track = S.figure2_tracking(config, args.network)
    described = {kind: "all layers" if layers is None else f"ℓ = {', '.join(map(str, layers))}"
                 for kind, layers in track.items()}
    modes = {"untracked": None, "tracked (configured kinds)": track,
             "tracked (mean_jacobian only, all layers)": {"mean_jacobian": None}}
    iterations = cfg.epochs * (len(data["y_train"]) // cfg.batch_size)

    print(f"{args.network}: {net['arch']}, {net['depth']} layers, time_invariant "
          f"{net['time_invariant']}, {f2['dataset']}, {cfg.epochs} epochs = {iterations} "
          f"iterations, scheme {cfg.scheme}, 1 thread, best of {args.repeats}")
    print("configured kinds: " + "; ".join(f"{k}: {v}" for k, v in described.items()))
    for n_seeds in args.seeds:
        seeds = [derive_seed(config["base_seed"], f2["dataset"], net["arch"], net["depth"], i)
                 for i in range(n_seeds)]
        best, reference = {}, None
        train_cell(data, net["arch"], net["depth"], seeds, TrainConfig(**{**settings, "epochs": 1}),
                   progress=False, track=track)                                  # warm-up
        for _ in range(args.repeats):
            for name, tracking in modes.items():
                wall, cpu = time.perf_counter(), time.thread_time()
                res = train_cell(data, net["arch"], net["depth"], seeds, cfg, progress=False,
                                 track=tracking)
                wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
                old = best.get(name, (float("inf"), float("inf")))
                best[name] = (min(old[0], wall), min(old[1], cpu))
                metrics = [(r["metrics"]["test_acc"], r["metrics"]["loss_curve"]) for r in res]
                assert reference is None or metrics == reference, "tracking changed training"
                reference = metrics
        print(f"{n_seeds} seed(s) in one job:")
        print_overheads(best, iterations, width=42, digits=2)


if __name__ == "__main__":
    main()

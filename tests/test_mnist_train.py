"""Table 2's network and training on small synthetic images: no MNIST needed, seconds in all.

The real files are used only by the tests marked for them (HDNN_MNIST_ROOT pointing at a root
prepared by ``python -m hdnn.mnist``) and by the slow smoke DAG.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml

from hdnn import blocks, mnist_train
from hdnn.blocks import Block, make_block
from hdnn.fast_block import PATH_ENV, PATHS
from hdnn.mnist import MnistDataError
from hdnn.cpu import VECTOR_FLAGS
from hdnn.provenance import derive_seed
from conftest import REAL_MNIST_ROOT, ROOT, copy_repo, run_snakemake
from hdnn.mnist_train import (MnistConfig, MnistNet, flushed_denormals, make_optimizer, objective,
                              run_mnist, split_data, summarize, train_mnist)
from hdnn.settings import table2_columns, table2_settings, tuning_grid, tuning_settings

ARCHS = ("MS1", "MS2", "MS3", "H1", "H2")


pytestmark = pytest.mark.usefixtures("one_thread")   # conftest.py


def fake_images(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose class shows as a bright row band, so a few steps already learn something."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    x = torch.randn(n, 1, 28, 28, generator=g)
    x[torch.arange(n), 0, 2 * y + 4, :] += 1.0  # weak enough that training never saturates
    return x, y


@pytest.fixture(scope="module")
def data() -> dict[str, torch.Tensor]:
    (x, y), (xt, yt) = fake_images(300, 0), fake_images(100, 1)
    return {"x_train": x, "y_train": y, "x_test": xt, "y_test": yt}


def small_cfg(**kw) -> MnistConfig:
    return MnistConfig(**{"h": 0.05, "weight_decay": 2e-4, "epochs": 2, **kw})


CPU = torch.device("cpu")


# --- the network ------------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("depth", [0, 2])
def test_shapes(arch, depth):
    net = MnistNet(arch, depth, h=0.1)
    x = torch.randn(3, 1, 28, 28)
    assert net(x).shape == (3, 10)
    assert net.regularizer().shape == ()
    loss, logits = objective(net, x, torch.tensor([0, 5, 9]), alpha=1e-3)
    assert loss.shape == () and logits.shape == (3, 10)
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())


@pytest.mark.parametrize("arch", ARCHS)
def test_network_contains_the_block_asked_for(arch):
    """The authors' code built MS1 whatever was asked; ours must build and use the block asked for."""
    torch.manual_seed(0)
    net = MnistNet(arch, depth=3, h=0.2)
    assert type(net.block) is getattr(blocks, arch) and net.block.arch == arch
    assert (net.block.nf, net.block.depth, net.block.h) == (8, 3, 0.2)
    twin = make_block(arch, nf=8, depth=3, h=0.2)
    assert {k: v.shape for k, v in net.block.named_parameters()} == \
        {k: v.shape for k, v in twin.named_parameters()}
    # The forward pass goes through that block at every pixel: conv → block → linear.
    x = torch.randn(2, 1, 28, 28)
    by_hand = net.fc(net.block(net.conv(x)).flatten(1))
    torch.testing.assert_close(net(x), by_hand)
    # ... and per pixel: the block applied to one pixel's 8 channels alone gives the same state.
    feats = net.conv(x)
    torch.testing.assert_close(net.block(feats)[:, :, 5, 7], net.block(feats[:, :, 5, 7]))


def test_depth0_is_the_convolution_then_the_output_layer():
    net = MnistNet("H2", depth=0, h=0.05)
    assert net.block is None
    x = torch.randn(2, 1, 28, 28)
    torch.testing.assert_close(net(x), net.fc(net.conv(x).flatten(1)))
    assert sum(p.numel() for p in net.parameters()) == (9 * 8 + 8) + (8 * 784 * 10 + 10)
    assert float(net.regularizer()) == 0.0


@pytest.mark.parametrize("kwargs, needle", [
    ({"arch": "H3", "depth": 2}, "arch"),
    ({"arch": "H2", "depth": -1}, "depth"),
    ({"arch": "H2", "depth": 1.5}, "depth"),
])
def test_bad_network_arguments_raise(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        MnistNet(h=0.1, **kwargs)


@pytest.mark.parametrize("kwargs, needle", [
    ({"lr": 0}, "lr"), ({"epochs": 0}, "epochs"), ({"weight_decay": -1.0}, "weight_decay"),
    ({"subset": 0}, "subset"), ({"h": float("nan")}, "h"), ({"validation": "yes"}, "validation"),
])
def test_bad_config_raises(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        small_cfg(**kwargs)


# --- the loss and the optimiser ---------------------------------------------------------------


def test_objective_adds_the_regulariser_once():
    torch.manual_seed(0)
    net = MnistNet("H2", depth=4, h=0.05)
    x, y = fake_images(5, 2)
    R = net.regularizer()
    assert float(R.detach()) > 1.0  # N(0, 1) weights: layers differ, so R is far from zero
    loss, logits = objective(net, x, y, alpha=0.1)
    torch.testing.assert_close(loss, F.cross_entropy(logits, y) + 0.1 * R)


def test_training_evaluates_the_regulariser_once_per_step(data, monkeypatch):
    calls = []
    original = Block.regularizer
    monkeypatch.setattr(Block, "regularizer", lambda self: calls.append(1) or original(self))
    train_mnist(data, "MS1", 4, seed=0, cfg=small_cfg(epochs=1, h=0.4), device=CPU, progress=False)
    assert len(calls) == 300 // 100  # one per minibatch, none in evaluation


@pytest.mark.parametrize("scope, decayed", [
    ("all", {"conv", "block", "fc"}),          # the authors' code
    ("conv_output", {"conv", "fc"}),
    ("output", {"fc"}),                        # the paper's text: α_c R_N
])
def test_weight_decay_acts_on_the_parts_its_scope_names(scope, decayed):
    net = MnistNet("MS1", depth=2, h=0.4)
    opt, sched = make_optimizer(net, small_cfg(weight_decay=1e-3, weight_decay_scope=scope))
    decay = {id(p): g["weight_decay"] for g in opt.param_groups for p in g["params"]}
    assert len(decay) == len(list(net.parameters()))  # every parameter exactly once
    for part in ("conv", "block", "fc"):
        want = 1e-3 if part in decayed else 0.0
        assert all(decay[id(p)] == want for p in getattr(net, part).parameters()), part
    assert isinstance(sched, torch.optim.lr_scheduler.ExponentialLR) and sched.gamma == 0.8


def test_weight_decay_scope_changes_training(data):
    """Decay on the block's N(0, 1) weights pulls them in: the scope is not a no-op."""
    runs = {scope: train_mnist(data, "H2", 2, seed=0, device=CPU, progress=False,
                               cfg=small_cfg(epochs=1, weight_decay=0.5, weight_decay_scope=scope))
            for scope in ("all", "output")}
    k_all, k_out = (r["net"].block.K.detach() for r in runs.values())
    assert k_all.norm() < k_out.norm()


@pytest.mark.parametrize("init, check", [
    ("normal", lambda b: 0.5 < float(b.std()) < 1.5),   # the authors' code: N(0, 1)
    ("zeros", lambda b: bool((b == 0).all())),
])
def test_block_bias_init(init, check):
    torch.manual_seed(0)
    net = MnistNet("H2", depth=4, h=0.05, block_bias_init=init)
    assert check(net.block.b.detach())
    assert small_cfg().block_bias_init == "normal" and small_cfg().weight_decay_scope == "all"


@pytest.mark.parametrize("kwargs, needle", [
    ({"weight_decay_scope": "block"}, "weight_decay_scope"),
    ({"block_bias_init": "uniform"}, "block_bias_init"),
])
def test_bad_mnist_options_raise(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        small_cfg(**kwargs)


def test_learning_rate_decays_per_epoch_and_training_learns(data):
    res = train_mnist(data, "H2", 2, seed=0, cfg=small_cfg(epochs=3, lr=0.01), device=CPU,
                      progress=False)
    assert [res["evals"][e]["lr"] for e in "123"] == pytest.approx([0.01, 0.008, 0.0064])
    assert res["evals"]["3"]["train_acc"] > 0.5  # ten classes: chance is 0.1
    assert set(res["evals"]["3"]) >= {"objective", "train_loss", "train_acc", "test_loss", "test_acc"}


# --- determinism and resuming -----------------------------------------------------------------


def _curve(evals: dict) -> dict:
    return {e: {k: v for k, v in ev.items() if k != "epoch_time_s"} for e, ev in evals.items()}


def _assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_same_seed_same_numbers_other_seed_other_numbers(data):
    cfg = small_cfg(epochs=1)
    a, b, c = (train_mnist(data, "H2", 2, seed=s, cfg=cfg, device=CPU, progress=False)
               for s in (7, 7, 8))
    assert _curve(a["evals"]) == _curve(b["evals"])
    _assert_same_weights(a["net"], b["net"])
    assert _curve(a["evals"]) != _curve(c["evals"])


class Killed(Exception):
    """Stands for the job being killed."""


def test_resume_after_kill_equals_uninterrupted(data, tmp_path, monkeypatch):
    cfg = small_cfg(epochs=2)
    whole = train_mnist(data, "H2", 2, seed=3, cfg=cfg, run_dir=tmp_path / "whole", device=CPU,
                        progress=False)

    save = mnist_train.save_checkpoint

    def save_then_die(path, state):
        save(path, state)
        # Mess up what a dying process would lose anyway, so that resuming must restore it.
        torch.manual_seed(12345)
        raise Killed

    monkeypatch.setattr(mnist_train, "save_checkpoint", save_then_die)
    with pytest.raises(Killed):
        train_mnist(data, "H2", 2, seed=3, cfg=cfg, run_dir=tmp_path / "killed", device=CPU,
                    progress=False)
    assert torch.load(tmp_path / "killed" / "checkpoint.pt", weights_only=True)["epoch"] == 1
    monkeypatch.setattr(mnist_train, "save_checkpoint", save)

    resumed = train_mnist(data, "H2", 2, seed=3, cfg=cfg, run_dir=tmp_path / "killed", device=CPU,
                          progress=False)
    assert resumed["resumed_from_epoch"] == 1 and whole["resumed_from_epoch"] == 0
    assert _curve(resumed["evals"]) == _curve(whole["evals"])
    _assert_same_weights(resumed["net"], whole["net"])


def test_checkpoint_of_other_settings_is_not_resumed(data, tmp_path):
    train_mnist(data, "H2", 2, seed=3, cfg=small_cfg(epochs=1), run_dir=tmp_path, device=CPU,
                progress=False)
    other = train_mnist(data, "H2", 2, seed=3, cfg=small_cfg(epochs=1, lr=0.01), run_dir=tmp_path,
                        device=CPU, progress=False)
    assert other["resumed_from_epoch"] == 0


# --- data -------------------------------------------------------------------------------------


def test_validation_split_is_fixed_disjoint_and_never_the_test_set():
    n = 1000
    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 28, 28)
    y = torch.arange(n) % 10
    cfg = small_cfg(validation=True, n_val=100, subset=500)
    a = split_data(x, y, None, None, cfg, base_seed=0)
    assert set(a) == {"x_train", "y_train", "x_val", "y_val"}
    ids_train, ids_val = a["x_train"][:, 0, 0, 0].long(), a["x_val"][:, 0, 0, 0].long()
    assert len(ids_train) == 500 and len(ids_val) == 100
    assert not set(ids_train.tolist()) & set(ids_val.tolist())
    assert torch.equal(a["y_val"], ids_val % 10)
    b = split_data(x, y, None, None, cfg, base_seed=0)
    assert torch.equal(a["x_val"], b["x_val"]) and torch.equal(a["x_train"], b["x_train"])
    c = split_data(x, y, None, None, replace(cfg, subset=None), base_seed=0)
    assert torch.equal(c["x_val"], a["x_val"]) and len(c["y_train"]) == 900  # subset after the split
    assert not torch.equal(split_data(x, y, None, None, cfg, base_seed=1)["x_val"], a["x_val"])


def test_subsets_keep_the_first_images():
    (x, y), (xt, yt) = fake_images(50, 0), fake_images(20, 1)
    d = split_data(x, y, xt, yt, small_cfg(subset=30, test_subset=10, batch_size=10), base_seed=0)
    assert torch.equal(d["x_train"], x[:30]) and torch.equal(d["y_test"], yt[:10])
    with pytest.raises(ValueError, match="subset"):
        split_data(x, y, xt, yt, small_cfg(subset=60), base_seed=0)
    with pytest.raises(ValueError, match="n_val"):
        split_data(x, y, None, None, small_cfg(validation=True, n_val=50), base_seed=0)


def test_missing_data_is_a_clear_mnist_error(tmp_path):
    with pytest.raises(MnistDataError, match=r"(?s)missing.*python -m hdnn\.mnist"):
        run_mnist(tmp_path / "no-data", tmp_path / "run" / "metrics.json", "table2", "paper", "H2",
                  2, 0, {"h": 0.05, "weight_decay": 2e-4}, base_seed=0)
    assert not (tmp_path / "run" / "metrics.json").exists()


# --- the run record ---------------------------------------------------------------------------


def test_run_writes_final_epoch_result_weights_and_provenance(tmp_path, monkeypatch):
    monkeypatch.delenv(PATH_ENV, raising=False)   # CI may force a path to time the slower case
    imgs = {True: fake_images(300, 0), False: fake_images(100, 1)}
    monkeypatch.setattr(mnist_train, "load_mnist_tensors", lambda root, train: imgs[train])
    out = tmp_path / "table2" / "paper" / "H2" / "depth2" / "seed1" / "metrics.json"
    settings = {"h": 0.05, "weight_decay": 2e-4, "epochs": 3, "lr": 0.01}
    rec = run_mnist(tmp_path, out, "table2", "paper", "H2", 2, 1, settings, base_seed=0,
                    progress=False, extra_keys={"analysis": "confirmatory"})
    written = json.loads(out.read_text())
    assert written["test_acc"] == rec["test_acc"] and written["analysis"] == "confirmatory"
    last = rec["evals"]["3"]
    assert (rec["train_acc"], rec["test_acc"], rec["train_loss"]) == \
        (last["train_acc"], last["test_acc"], last["train_loss"])
    best = max(ev["test_acc"] for ev in rec["evals"].values())
    assert rec["best_epoch_test_acc_selected_on_test"] == best
    assert rec["seed"] == derive_seed(0, "mnist", "table2", "H2", 2, 1)
    assert (rec["column"], rec["paper_column"]) == ("H2", "H2")
    for key in ("versions", "git_commit", "wall_time_s", "device", "config", "n_train", "threads"):
        assert key in rec
    assert rec["block_path"] in PATHS and rec["cpu_model"]   # the measured fastest path, and where
    assert set(rec["cpu_flags"]) <= set(VECTOR_FLAGS)
    assert rec["flush_denormal"] is torch.set_flush_denormal(False)   # supported here, so used
    assert rec["config"]["epochs"] == 3 and rec["params_per_layer"] == 72
    saved = torch.load(out.parent / "model.pt", weights_only=True)
    assert saved["arch"] == "H2" and "block.K" in saved["state_dict"]
    assert not (out.parent / "checkpoint.pt").exists()  # finished: a rerun starts afresh


def test_denormals_are_flushed_inside_and_restored_after():
    tiny = torch.tensor(1e-40, dtype=torch.float32)   # denormal in float32
    with flushed_denormals() as supported:
        inside = float(tiny * 1.0)
    assert float(tiny * 1.0) == pytest.approx(1e-40, rel=1e-3)   # the process's default again
    assert inside == (0.0 if supported else pytest.approx(1e-40, rel=1e-3))


def test_summary_is_the_final_epoch_and_flags_divergence():
    evals = {"1": {"objective": 1.0, "train_acc": 0.5, "test_acc": 0.9, "train_loss": 1.0},
             "2": {"objective": float("nan"), "train_acc": 0.1, "test_acc": 0.1, "train_loss": 9.0}}
    s = summarize(evals, validation=False)
    assert s["test_acc"] == 0.1 and s["diverged"]
    assert s["best_epoch_test_acc_selected_on_test"] == 0.9 and s["best_epoch_selected_on_test"] == 1


# --- settings from the workflow config --------------------------------------------------------


@pytest.fixture
def config_without_tuned(tmp_path) -> dict:
    """config.yaml as written, its Table 2 choices pointed at a file not yet there."""
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["table2"]["tuned"] = str(tmp_path / "tuned_table2.yaml")
    return cfg


def test_paper_protocol_is_the_text_then_the_authors_settings(config_without_tuned):
    ms1, h2, cross = (MnistConfig(**table2_settings(config_without_tuned, "paper", c))
                      for c in ("MS1", "H2", "MS1_with_H2_settings"))
    assert (ms1.h, ms1.weight_decay, ms1.alpha) == (0.4, 1e-3, 1e-3)
    assert (h2.h, h2.weight_decay, h2.alpha) == (0.05, 2e-4, 1e-3)
    assert cross == h2  # MS1 trained with H2's settings
    for c in (ms1, h2):
        assert (c.batch_size, c.lr, c.lr_gamma, c.epochs, c.nf) == (100, 0.04, 0.8, 10, 8)
        assert (c.weight_decay_scope, c.block_bias_init) == ("output", "normal")
        assert c.subset is None and c.test_subset is None and not c.validation
    with pytest.raises(ValueError, match="column"):
        table2_settings(config_without_tuned, "paper", "MS3")


def test_table2_columns_name_the_arch_and_whose_settings(config_without_tuned):
    assert table2_columns(config_without_tuned) == {"MS1": {"arch": "MS1", "settings": "MS1"},
                                      "H2": {"arch": "H2", "settings": "H2"},
                                      "MS1_with_H2_settings": {"arch": "MS1", "settings": "H2"}}


def test_seeds_differ_between_studies_and_columns(tmp_path, monkeypatch):
    imgs = {True: fake_images(300, 0), False: fake_images(100, 1)}
    monkeypatch.setattr(mnist_train, "load_mnist_tensors", lambda root, train: imgs[train])
    settings = {"h": 0.05, "weight_decay": 2e-4, "epochs": 1, "validation": True, "n_val": 100}
    seeds = {(study, column): run_mnist(tmp_path, tmp_path / study / column / "metrics.json", study,
                                        "s", "MS1", 0, 0, settings, base_seed=0, progress=False,
                                        column=column)["seed"]
             for study in ("table2", "table2_tuning") for column in ("MS1", "MS1_with_H2_settings")}
    assert len(set(seeds.values())) == 4


def test_the_tuned_protocol_reads_its_choice_and_names_the_stage_that_writes_a_missing_one(config_without_tuned):
    with pytest.raises(FileNotFoundError, match=r"make it with `snakemake --cores all tuning_table2`"):
        table2_settings(config_without_tuned, "tuned", "MS1")
    Path(config_without_tuned["table2"]["tuned"]).write_text(yaml.safe_dump(
        {"per_cell": {"MS1": {"lr": 0.01, "lr_gamma": 0.9, "epochs": 7}}, "source": "test"}))
    tuned = table2_settings(config_without_tuned, "tuned", "MS1")
    assert (tuned["lr"], tuned["lr_gamma"], tuned["epochs"], tuned["h"]) == (0.01, 0.9, 7, 0.4)
    with pytest.raises(ValueError, match="H2"):
        table2_settings(config_without_tuned, "tuned", "H2")


def test_tuning_runs_hold_out_validation_with_the_same_budget(config_without_tuned):
    grid = tuning_grid(config_without_tuned)
    assert len(grid) == 6
    for arch in ("MS1", "H2"):
        for name, point in grid.items():
            s = tuning_settings(config_without_tuned, name, arch)
            assert s["validation"] and s["n_val"] == 10000 and s["test_subset"] is None
            assert s["epochs"] == 30 and {s["lr"], s["lr_gamma"]} == set(point.values())
            MnistConfig(**s)


# --- real MNIST and the workflow --------------------------------------------------------------


@pytest.mark.skipif(not REAL_MNIST_ROOT, reason="set HDNN_MNIST_ROOT to a root prepared by python -m hdnn.mnist")
def test_real_mnist_subset_trains(tmp_path):
    settings = {"h": 0.05, "weight_decay": 2e-4, "epochs": 1, "subset": 1000, "test_subset": 500}
    rec = run_mnist(REAL_MNIST_ROOT, tmp_path / "metrics.json", "table2", "paper", "H2", 2, 0, settings,
                    base_seed=0, progress=False)
    assert rec["n_train"] == 1000 and rec["n_eval"] == 500 and rec["test_acc"] > 0.5


def test_table2_before_its_search_fails_before_any_job_naming_the_stage(tmp_path):
    proc = run_snakemake(copy_repo(tmp_path), "results/smoke/tables/table2.md", "-n", "--cores", "1",
                         "--configfile", "config/smoke.yaml", check=False)
    assert proc.returncode != 0
    assert "make it with `snakemake --cores all tuning_table2`" in proc.stdout + proc.stderr


def test_table2_target_plans_only_mnist_jobs_once_its_choice_exists(tmp_path):
    repo = copy_repo(tmp_path)
    chosen = repo / "results" / "smoke" / "chosen" / "tuned_table2.yaml"
    chosen.parent.mkdir(parents=True)
    chosen.write_text(yaml.safe_dump({"per_cell": {a: {"lr": 0.01, "lr_gamma": 0.9, "epochs": 1} for a in ("MS1", "H2")},
                                      "source": "test"}))
    proc = run_snakemake(repo, "results/smoke/tables/table2.md", "-n", "--cores", "1",
                         "--configfile", "config/smoke.yaml")
    jobs = {l.split()[1] for l in proc.stdout.splitlines() if l.startswith("rule ")}
    assert jobs == {"mnist_data:", "train_table2:", "table2:"}   # the search is config, not rerun
    assert "runs/table2/paper/H2/depth2/seed0" in proc.stdout and "runs/table2/tuned/H2/depth2/seed0" in proc.stdout


@pytest.mark.slow
def test_smoke_dag_runs_every_mnist_rule(smoke_repo):
    """tuning_table2, then Table 2 with both protocols, on the smoke grid (tests/conftest.py)."""
    out = smoke_repo / "results" / "smoke"
    chosen = yaml.safe_load((out / "chosen" / "tuned_table2.yaml").read_text())["per_cell"]
    assert set(chosen) == {"MS1", "H2"}
    md = (out / "tables" / "table2.md").read_text()
    assert "## Protocol `paper`" in md and "## Protocol `tuned`" in md
    assert "(92.47)" in md and "(99.815)" in md  # paper values beside ours
    report = (out / "paper" / "table2_report.md").read_text()
    assert "## Table 2: MNIST" in report and "## Table 2 tuning search" in report
    for metrics in (out / "runs").rglob("metrics.json"):
        assert not (metrics.parent / "checkpoint.pt").exists()
        assert (metrics.parent / "model.pt").exists()

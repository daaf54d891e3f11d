"""The batched gradient-norm tracker against per-sample autograd and LAPACK.

The reference Jacobians come from an independent float64 implementation of docs/paper.md's layer
equations (column vectors, built from nothing but ``weights(j)``) differentiated one sample at a
time by ``torch.autograd.functional.jacobian``; it shares no code with hdnn.gradients.
"""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from hdnn.blocks import ARCHS, make_block
from hdnn.data import make_dataset, pad_inputs
from hdnn.gradients import (KINDS, forward_with_trajectory, gradient_norms, layer_jacobians,
                            norm_records, spectral_norm, tracked_records)
from hdnn.train import TrainConfig, train_cell


def ref_layer(arch, w, x, h):
    """One layer on a column state x (n,), the paper's equations verbatim."""
    m = x.shape[0] // 2
    if arch == "MS1":
        y, z = x[:m], x[m:]
        z1 = z - h * torch.tanh(w["K0"].T @ y + w["b1"])
        return torch.cat([y + h * torch.tanh(w["K0"] @ z1 + w["b2"]), z1])
    if arch == "MS2":
        return x + h * torch.tanh(w["K"] @ x + w["b"])
    if arch == "MS3":
        y, z = x[:m], x[m:]
        y1 = y + h * w["K1"].T @ torch.tanh(w["K1"] @ z + w["b1"])
        return torch.cat([y1, z - h * w["K2"].T @ torch.tanh(w["K2"] @ y1 + w["b2"])])
    if arch in ("H1", "H2"):
        return x + h * w["J"] @ w["K"].T @ torch.tanh(w["K"] @ x + w["b"])
    if arch == "FC":
        return torch.tanh(w["K"] @ x + w["b"])
    raise AssertionError(arch)


def ref_jacobian(blk, y0, layer, sample):
    """∂y_N/∂y_ℓ of one sample by autograd through the reference layers."""
    ws = [{k: v.detach() for k, v in blk.weights(j).items()} for j in range(blk.depth)]
    x = y0[sample].detach()
    for w in ws[:layer]:
        x = ref_layer(blk.arch, w, x, blk.h)

    def tail(x):
        for w in ws[layer:]:
            x = ref_layer(blk.arch, w, x, blk.h)
        return x

    return torch.autograd.functional.jacobian(tail, x)


def small_block(arch, time_invariant, nf=4, depth=5, h=0.3, seed=0):
    torch.manual_seed(seed)
    return make_block(arch, nf, depth, h, time_invariant=time_invariant,
                      bias_init=nn.init.normal_).double()


@pytest.mark.parametrize("time_invariant", [False, True])
@pytest.mark.parametrize("arch", ARCHS)
def test_jacobians_match_per_sample_autograd(arch, time_invariant):
    blk = small_block(arch, time_invariant)
    y0 = torch.randn(3, 4, dtype=torch.float64)
    yN, jac = layer_jacobians(blk, y0)
    assert jac.shape == (blk.depth + 1, 3, 4, 4)
    torch.testing.assert_close(yN, blk(y0).detach())
    for layer in (0, 1, 3, blk.depth):
        for sample in range(3):
            torch.testing.assert_close(jac[layer, sample], ref_jacobian(blk, y0, layer, sample),
                                       rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("arch", ["H2", "MS3"])
def test_jacobians_of_wider_states(arch):
    blk = small_block(arch, False, nf=6, depth=3)
    y0 = torch.randn(2, 6, dtype=torch.float64)
    _, jac = layer_jacobians(blk, y0)
    for layer in range(blk.depth + 1):
        torch.testing.assert_close(jac[layer, 1], ref_jacobian(blk, y0, layer, 1),
                                   rtol=1e-10, atol=1e-12)


def test_trajectory_input_gives_the_same_jacobians():
    blk = small_block("MS1", False)
    y0 = torch.randn(4, 4, dtype=torch.float64)
    yN, jac = layer_jacobians(blk, y0)
    yN_t, jac_t = layer_jacobians(blk, trajectory=blk.trajectory(y0))
    assert torch.equal(yN, yN_t) and torch.equal(jac, jac_t)


def test_forward_with_trajectory_is_the_training_forward():
    blk = small_block("H1", False)
    y0 = torch.randn(5, 4, dtype=torch.float64)
    yN, traj = forward_with_trajectory(blk, y0)
    assert torch.equal(yN, blk(y0)) and torch.equal(traj, blk.trajectory(y0))
    assert yN.requires_grad and not traj.requires_grad
    (grad,) = torch.autograd.grad(yN.square().sum(), blk.K)
    (expected,) = torch.autograd.grad(blk(y0).square().sum(), blk.K)
    torch.testing.assert_close(grad, expected, rtol=0, atol=0)


def test_tracking_leaves_training_alone():
    blk = small_block("H1", False)
    y0 = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    yN, traj = forward_with_trajectory(blk, y0)
    norms = gradient_norms(blk, trajectory=traj)
    _, jac = layer_jacobians(blk, y0)
    assert not jac.requires_grad and not any(t.requires_grad for t in norms.values())
    assert all(p.grad is None for p in blk.parameters()) and y0.grad is None
    yN.sum().backward()                          # the training graph is still intact
    assert blk.K.grad is not None


def direct_norms(jac, layers):
    """The three kinds straight from their definitions, with LAPACK and numpy."""
    per_sample = torch.linalg.matrix_norm(jac[layers], ord=2).numpy()       # (L, batch)
    return {"mean_jacobian": torch.linalg.matrix_norm(jac[layers].mean(1), ord=2).numpy(),
            "per_sample_median": np.median(per_sample, axis=1),
            "per_sample_max": per_sample.max(axis=1)}


# Batches of 200 give more per-sample matrices than LAPACK takes (512): the solver runs.
@pytest.mark.parametrize("arch,nf,batch", [("H1", 4, 200), ("FC", 4, 200), ("MS2", 3, 200),
                                           ("H2", 2, 200), ("MS1", 6, 200), ("MS3", 4, 8)])
def test_norm_kinds_match_a_direct_computation(arch, nf, batch):
    torch.manual_seed(1)
    blk = make_block(arch, nf, 6, 0.2).double()
    y0 = torch.randn(batch, nf, dtype=torch.float64)     # even: the median averages two values
    layers = [0, 2, 5, 6]
    norms = gradient_norms(blk, y0, layers=layers)
    _, jac = layer_jacobians(blk, y0)
    assert norms["layer"].tolist() == layers
    for kind, expected in direct_norms(jac, layers).items():
        np.testing.assert_allclose(norms[kind].numpy(), expected, rtol=1e-9)


def test_norms_of_many_layers_in_several_pieces():
    torch.manual_seed(2)
    blk = make_block("H1", 4, 40, 0.02).double()
    y0 = torch.randn(128, 4, dtype=torch.float64)       # 41 × 128 matrices: two solver pieces
    norms = gradient_norms(blk, y0)
    _, jac = layer_jacobians(blk, y0)
    for kind, expected in direct_norms(jac, list(range(41))).items():
        np.testing.assert_allclose(norms[kind].numpy(), expected, rtol=1e-9)


def test_float32_tracking_of_the_benchmark_network():
    """The training setting: 64-layer H1, batch 125, float32, all layers (8125 + 65 matrices)."""
    torch.manual_seed(3)
    blk = make_block("H1", 4, 64, 0.8 / 64)
    y0 = torch.randn(125, 4)
    _, traj = forward_with_trajectory(blk, y0)
    norms = gradient_norms(blk, trajectory=traj)
    _, jac = layer_jacobians(blk, trajectory=traj)
    for kind, expected in direct_norms(jac.double(), list(range(65))).items():
        np.testing.assert_allclose(norms[kind].numpy(), expected, rtol=3e-7)


def test_a_subset_of_kinds():
    blk = make_block("H1", 4, 5, 0.1)
    y0 = torch.randn(6, 4)
    everything = gradient_norms(blk, y0)
    for kinds in (["mean_jacobian"], ("per_sample_max", "mean_jacobian"), "per_sample_median"):
        norms = gradient_norms(blk, y0, kinds=kinds)
        wanted = [kinds] if isinstance(kinds, str) else kinds
        assert sorted(norms) == sorted(["layer", *wanted])
        for kind in wanted:
            torch.testing.assert_close(norms[kind], everything[kind])
        assert {row["kind"] for row in norm_records(norms, 0)} == set(wanted)


def test_default_tracks_every_layer():
    blk = make_block("MS3", 4, 4, 0.1)
    norms = gradient_norms(blk, torch.randn(3, 4))
    assert norms["layer"].tolist() == [0, 1, 2, 3, 4]
    for kind in KINDS:                           # ∂y_N/∂y_N = I
        assert norms[kind].shape == (5,) and norms[kind][-1].item() == pytest.approx(1.0)


def orthogonal(count, n, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.linalg.qr(torch.randn(count, n, n, generator=gen, dtype=torch.float64))[0]


def with_singular_values(values, seed=0):
    values = torch.as_tensor(values, dtype=torch.float64)
    u, v = orthogonal(len(values), values.shape[1], seed), orthogonal(len(values), values.shape[1],
                                                                      seed + 1)
    return u * values[:, None, :] @ v.mT


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_spectral_norm_matches_lapack(n, dtype):
    gen = torch.Generator().manual_seed(n)
    gauss = torch.randn(1000, n, n, generator=gen, dtype=torch.float64)
    cases = [gauss, gauss * 1e-20, gauss * 1e15, orthogonal(50, n, 3),
             orthogonal(50, n, 4) + 1e-6 * gauss[:50],
             with_singular_values(torch.logspace(0, -6, n).expand(50, n)),
             with_singular_values(torch.tensor([3.0] + [0.0] * (n - 1)).expand(20, n)),
             torch.zeros(3, n, n, dtype=torch.float64), torch.eye(n, dtype=torch.float64)[None]]
    mats = torch.cat(cases).to(dtype)
    exact = torch.linalg.matrix_norm(mats.double(), ord=2)
    # float32: the solver (n <= 4) is within 1.1e-7 here; LAPACK's float32 SVD would be 1.6e-6.
    rtol = 1e-9 if dtype == torch.float64 else 2e-7
    torch.testing.assert_close(spectral_norm(mats).double(), exact, rtol=rtol, atol=0)
    torch.testing.assert_close(spectral_norm(mats[-30:]).double(), exact[-30:], rtol=rtol, atol=0)


@pytest.mark.parametrize("top", [2, 3, 4])
def test_spectral_norm_of_repeated_singular_values(top):
    """An exactly repeated σ_max is a multiple root of the characteristic polynomial: the
    documented worst case (relative error ~3e-6 for a triple one; 1e-5 to 2e-4 without the
    solver's guard against steps that grow again)."""
    values = torch.tensor([[1.0] * top + [rest] * (4 - top) for rest in (0.0, 0.5, 0.999)])
    mats = with_singular_values(values.repeat(1000, 1), seed=top)
    torch.testing.assert_close(spectral_norm(mats), torch.ones(3000, dtype=torch.float64),
                               rtol=5e-6, atol=0)


def test_spectral_norm_keeps_batch_shape():
    mats = torch.randn(2, 3, 4, 4)
    assert spectral_norm(mats).shape == (2, 3)


def test_deep_fc_vanishes_but_time_invariant_h1_does_not():
    """Figure 2's contrast. FC with weights N(0, 5²) saturates tanh, so the layer Jacobians
    diag(σ')K are tiny and their product over 32 layers vanishes (below 1e-9 for 40 seeds tried;
    N(0, 3²) still exploded for some); a time-invariant H1 with small h is close to a symplectic
    map, whose largest singular value is at least 1 (in [1.3, 19] for 40 seeds tried)."""
    torch.manual_seed(0)
    y0 = torch.randn(64, 4)
    fc = make_block("FC", 4, 32, 0.1, weight_init=lambda w: nn.init.normal_(w, std=5.0))
    h1 = make_block("H1", 4, 32, 0.05, time_invariant=True)
    fc_norms = gradient_norms(fc, y0, layers=[0])
    h1_norms = gradient_norms(h1, y0, layers=[0, 16])
    for kind in KINDS:
        assert fc_norms[kind][0] < 1e-3
        assert ((h1_norms[kind] >= 0.5) & (h1_norms[kind] <= 100)).all()


def test_norm_records_are_tidy():
    blk = make_block("H1", 4, 3, 0.1)
    norms = gradient_norms(blk, torch.randn(5, 4), layers=[1, 3])
    frame = pd.DataFrame(norm_records(norms, iteration=7))
    assert list(frame.columns) == ["iteration", "layer", "kind", "value"]
    assert len(frame) == 2 * len(KINDS) and (frame["iteration"] == 7).all()
    pivot = frame.pivot(index="layer", columns="kind", values="value")
    for kind in KINDS:
        np.testing.assert_allclose(pivot[kind].to_numpy(), norms[kind].numpy())


def test_invalid_inputs_are_rejected():
    blk = make_block("H1", 4, 3, 0.1)
    y0 = torch.randn(5, 4)
    traj = blk.trajectory(y0)
    bad_calls = [
        lambda: gradient_norms(blk, y0, layers=[4]),
        lambda: gradient_norms(blk, y0, layers=[-1]),
        lambda: gradient_norms(blk, y0, layers=[True]),
        lambda: gradient_norms(blk, y0, layers=[1.0]),
        lambda: gradient_norms(blk, y0, layers=[]),
        lambda: gradient_norms(blk, y0, layers=3),
        lambda: gradient_norms(blk, y0, kinds=["median"]),
        lambda: gradient_norms(blk, y0, kinds=[]),
        lambda: gradient_norms(blk),
        lambda: gradient_norms(blk, y0, trajectory=traj),
        lambda: gradient_norms(blk, torch.randn(5, 4, 2)),
        lambda: gradient_norms(blk, torch.randn(5, 3)),
        lambda: gradient_norms(blk, torch.ones(5, 4, dtype=torch.long)),
        lambda: gradient_norms(blk, trajectory=traj[1:]),
        lambda: gradient_norms(nn.Linear(4, 4), y0),
        lambda: layer_jacobians(blk, y0.numpy()),
        lambda: forward_with_trajectory(blk, torch.randn(4)),
        lambda: spectral_norm(torch.randn(3, 4, 5)),
        lambda: norm_records({"layer": torch.tensor([0])}, 0),
        lambda: norm_records(gradient_norms(blk, y0), 1.5),
    ]
    for call in bad_calls:
        with pytest.raises(ValueError, match="not allowed|exactly one"):
            call()


def test_tracked_records_give_each_kind_its_layers():
    blk = small_block("MS3", False, depth=6)
    traj = blk.trajectory(torch.randn(7, 4, dtype=torch.float64))
    plan = {"mean_jacobian": None, "per_sample_median": [1, 5], "per_sample_max": [1, 5]}
    frame = pd.DataFrame(tracked_records(blk, traj, 3, plan))
    assert (frame["iteration"] == 3).all()
    for kind, layers in plan.items():
        expected = gradient_norms(blk, trajectory=traj, layers=layers, kinds=[kind])
        got = frame[frame["kind"] == kind]
        assert got["layer"].tolist() == expected["layer"].tolist()
        np.testing.assert_array_equal(got["value"].to_numpy(), expected[kind].numpy())
    assert len(frame) == 7 + 2 + 2
    for bad in ({}, {"median": None}, {"mean_jacobian": [7]}, [("mean_jacobian", None)]):
        with pytest.raises(ValueError, match="not allowed"):
            tracked_records(blk, traj, 0, bad)


TRACK = {"mean_jacobian": None, "per_sample_median": [1, 3], "per_sample_max": [1, 3]}


@pytest.mark.parametrize("scheme", ["alternating", "joint"])
def test_tracking_does_not_change_training(scheme):
    moons = make_dataset("double_moons", n_points=400)
    cfg = TrainConfig(scheme=scheme, epochs=2, refit_epochs=2, batch_size=50)
    plain = train_cell(moons, "H1", 4, [3, 4], cfg, progress=False)
    tracked = train_cell(moons, "H1", 4, [3, 4], cfg, progress=False, track=TRACK)
    for a, b in zip(plain, tracked):
        for key in ("train_acc", "test_acc", "train_loss", "test_loss", "loss_curve"):
            assert a["metrics"][key] == b["metrics"][key]
        for name, weights in a["state"]["block"].items():
            assert torch.equal(weights, b["state"]["block"][name])
        assert "norms" not in a and "iteration_loss" not in a["metrics"]
        # 200 training points / 50 = 4 iterations per epoch; their losses average to the curve.
        losses = b["metrics"]["iteration_loss"]
        assert len(losses) == 8
        assert np.mean(losses[4:]) == pytest.approx(b["metrics"]["loss_curve"][1], rel=1e-6)
        frame = pd.DataFrame(b["norms"])
        assert sorted(frame["iteration"].unique()) == list(range(8))
        assert len(frame) == 8 * (5 + 2 + 2)


@pytest.mark.parametrize("arch,time_invariant", [("H1", True), ("MS1", False), ("FC", False)])
def test_tracking_in_training_equals_the_standalone_norms(arch, time_invariant):
    """With the whole training set as one minibatch, iteration k sees the weights after k
    updates, which a k-epoch run returns: the norms it tracked at iteration k must be those
    gradient_norms computes from those weights on the training inputs (every seed of the
    ensemble: here the second one)."""
    moons = make_dataset("double_moons", n_points=200)
    base = dict(scheme="joint", batch_size=100, input_placement="paper",
                time_invariant=time_invariant)
    depth, seeds, k = 4, [11, 12], 2
    tracked = train_cell(moons, arch, depth, seeds, TrainConfig(epochs=3, **base),
                         progress=False, track=TRACK)[1]
    after_k = train_cell(moons, arch, depth, seeds, TrainConfig(epochs=k, **base),
                         progress=False)[1]
    blk = make_block(arch, 4, depth, 0.8 / depth, time_invariant)
    blk.load_state_dict(after_k["state"]["block"], strict=False)
    y0 = pad_inputs(moons["x_train"], 4, "paper")
    frame = pd.DataFrame(tracked["norms"])
    for kind, layers in TRACK.items():
        expected = gradient_norms(blk, y0, layers=layers, kinds=[kind])
        got = frame[(frame["iteration"] == k) & (frame["kind"] == kind)]
        assert got["layer"].tolist() == expected["layer"].tolist()
        np.testing.assert_allclose(got["value"].to_numpy(), expected[kind].numpy(), rtol=1e-5)

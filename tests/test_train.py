import math

import pytest
import torch

from hdnn.data import make_dataset
from hdnn.train import TrainConfig, _fit_output, _fresh_output, _output_loss, train_cell

SMALL = dict(epochs=2, refit_epochs=2, batch_size=50)


@pytest.fixture(scope="module")
def moons():
    return make_dataset("double_moons", n_points=400)


@pytest.mark.parametrize("scheme", ["alternating", "joint"])
def test_same_seed_same_numbers(moons, scheme):
    cfg = TrainConfig(scheme=scheme, **SMALL)
    a = train_cell(moons, "H1", 3, [7, 8], cfg, progress=False)
    b = train_cell(moons, "H1", 3, [7, 8], cfg, progress=False)
    for ra, rb in zip(a, b):
        for key in ("train_acc", "test_acc", "train_loss", "test_loss"):
            assert ra["metrics"][key] == rb["metrics"][key]
        assert ra["metrics"]["loss_curve"] == rb["metrics"]["loss_curve"]


@pytest.mark.parametrize("scheme", ["alternating", "joint"])
def test_seed_in_ensemble_equals_seed_alone(moons, scheme):
    """Batched seeds are independent networks: a seed's run does not depend on its companions."""
    cfg = TrainConfig(scheme=scheme, **SMALL)
    alone = train_cell(moons, "MS2", 2, [5], cfg, progress=False)[0]["metrics"]
    together = train_cell(moons, "MS2", 2, [9, 5, 11], cfg, progress=False)[1]["metrics"]
    assert together["test_acc"] == pytest.approx(alone["test_acc"], abs=1e-6)
    assert together["loss_curve"] == pytest.approx(alone["loss_curve"], rel=1e-5)


def test_training_learns_double_moons(moons):
    cfg = TrainConfig(scheme="joint", epochs=30, batch_size=50)
    m = train_cell(moons, "H1", 4, [0], cfg, progress=False)[0]["metrics"]
    assert m["train_acc"] > 0.85 and m["loss_curve"][-1] < m["loss_curve"][0]


def test_eval_epochs_do_not_change_training(moons):
    plain = TrainConfig(**SMALL)
    probed = TrainConfig(eval_epochs=[1], **SMALL)
    a = train_cell(moons, "H2", 2, [3], plain, progress=False)[0]["metrics"]
    b = train_cell(moons, "H2", 2, [3], probed, progress=False)[0]["metrics"]
    assert a["test_acc"] == b["test_acc"] and set(b["evals"]) == {"1"}
    one_epoch = train_cell(moons, "H2", 2, [3], TrainConfig(**{**SMALL, "epochs": 1}),
                           progress=False)[0]["metrics"]
    assert b["evals"]["1"]["test_acc"] == pytest.approx(one_epoch["test_acc"], abs=1e-6)


def test_divergence_is_recorded_not_raised(moons):
    cfg = TrainConfig(scheme="joint", T=1e38, **SMALL)  # overflows float32 to inf, then NaN
    m = train_cell(moons, "H1", 4, [0], cfg, progress=False)[0]["metrics"]
    assert m["diverged"] is True and 0.0 <= m["test_acc"] <= 1.0


def test_manual_output_adam_equals_torch_adam():
    torch.manual_seed(0)
    feats = torch.randn(3, 50, 4, dtype=torch.float64)
    labels = (torch.rand(3, 50) > 0.5).double()
    gens = lambda: [torch.Generator().manual_seed(i) for i in range(3)]  # noqa: E731
    W, mu = _fit_output([(feats, labels)] * 4, gens(), 4, 0.05, 1e-3, steps_per_batch=3)
    W0, mu0 = (t.detach().double().requires_grad_() for t in _fresh_output(gens(), 4))
    opt = torch.optim.Adam([W0, mu0], lr=0.05)
    for _ in range(12):
        opt.zero_grad()
        _output_loss(feats, labels, W0, mu0, 1e-3).sum().backward()
        opt.step()
    torch.testing.assert_close(W, W0.detach(), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(mu, mu0.detach(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kwargs,needle", [
    (dict(scheme="sgd"), "scheme='sgd'"), (dict(lr=float("nan")), "lr=nan"),
    (dict(epochs=0), "epochs=0"), (dict(T=-1.0), "T=-1.0")])
def test_bad_config_raises(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        TrainConfig(**kwargs)
    with pytest.raises(TypeError):
        TrainConfig(not_a_key=1)


def test_loss_is_eq12():
    feats = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    labels = torch.tensor([[1.0, 0.0]])
    W, mu = torch.tensor([[2.0, -1.0]]), torch.tensor([0.5])
    z = torch.tensor([2.5, -0.5])
    bce = -(math.log(torch.sigmoid(z[0])) + math.log(1 - torch.sigmoid(z[1]))) / 2
    expected = bce + 0.1 * (4 + 1 + 0.25)
    assert float(_output_loss(feats, labels, W, mu, 0.1)[0]) == pytest.approx(expected, rel=1e-6)

import math
from pathlib import Path

import pytest
import torch
import yaml

from hdnn import settings as S
from hdnn.data import make_dataset, save_dataset
from hdnn.provenance import read_json
from hdnn.train import (Ensemble, TrainConfig, _fit_output, _fresh_output, _output_loss, data_seed,
                        run_cell, train_cell)

ROOT = Path(__file__).resolve().parents[1]

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


# --- The authors' details, one option each (hdnn.train module docstring) ----------------------

TINY = dict(epochs=2, refit_epochs=2, batch_size=50, scheme="joint")


def test_bias_init_option():
    normal = Ensemble("H1", 4, 3, 0.1, False, [0], bias_init="normal").params["b"]
    zeros = Ensemble("H1", 4, 3, 0.1, False, [0], bias_init="zeros").params["b"]
    assert (zeros == 0).all() and (normal != 0).all()
    assert Ensemble("H1", 4, 3, 0.1, False, [0]).params["b"].ne(0).all()   # the authors' default


def test_ms2_init_option_gives_skew_entries_of_variance_two():
    diffs = Ensemble("MS2", 16, 200, 0.1, False, [0], ms2_init="differences").params["k_upper"]
    plain = Ensemble("MS2", 16, 200, 0.1, False, [0], ms2_init="entries").params["k_upper"]
    assert float(diffs.detach().var()) == pytest.approx(2.0, rel=0.05)
    assert float(plain.detach().var()) == pytest.approx(1.0, rel=0.05)
    # other blocks ignore it
    a = Ensemble("H1", 4, 3, 0.1, False, [0], ms2_init="differences").params["K"]
    assert torch.equal(a, Ensemble("H1", 4, 3, 0.1, False, [0], ms2_init="entries").params["K"])


def test_output_init_option():
    gens = [torch.Generator().manual_seed(0)]
    W, mu = _fresh_output(gens, 4, "zeros")
    assert (W == 0).all() and (mu == 0).all()
    W, mu = _fresh_output(gens, 4, "uniform")
    assert (W != 0).all() and W.abs().max() <= 0.5


@pytest.mark.parametrize("scheme", ["alternating", "joint"])
def test_output_penalty_half_is_the_full_penalty_at_half_the_weight(moons, scheme):
    cfg = dict(TINY, scheme=scheme, alpha_c=0.2)
    half = train_cell(moons, "H1", 2, [4], TrainConfig(output_penalty="half", **cfg), progress=False)
    full = train_cell(moons, "H1", 2, [4], TrainConfig(output_penalty="full", **{**cfg, "alpha_c": 0.1}),
                      progress=False)
    other = train_cell(moons, "H1", 2, [4], TrainConfig(output_penalty="full", **cfg), progress=False)
    assert half[0]["metrics"]["loss_curve"] == pytest.approx(full[0]["metrics"]["loss_curve"], rel=1e-6)
    assert half[0]["metrics"]["loss_curve"] != pytest.approx(other[0]["metrics"]["loss_curve"], rel=1e-6)


def test_adam_step_reset_sets_the_counter_to_the_epoch_index(moons):
    """With one minibatch per epoch, step e of plain Adam is already step e + 1: the reset changes
    nothing. With several minibatches per epoch it keeps epoch e's bias correction at step e + 1."""
    def curve(batch_size, reset):
        cfg = TrainConfig(**{**TINY, "epochs": 3, "batch_size": batch_size, "adam_step_reset": reset})
        return train_cell(moons, "H1", 2, [1], cfg, progress=False)[0]["metrics"]["loss_curve"]
    whole = len(moons["y_train"])
    assert curve(whole, True) == curve(whole, False)
    assert curve(50, True) != pytest.approx(curve(50, False), rel=1e-4)


def test_each_seed_trains_on_its_own_data(moons, tmp_path):
    other = make_dataset("double_moons", n_points=400, seed=9)
    cfg = TrainConfig(**TINY)
    alone = train_cell(other, "H1", 2, [5], cfg, progress=False)[0]["metrics"]
    mixed = train_cell([moons, other], "H1", 2, [3, 5], cfg, progress=False)[1]["metrics"]
    assert mixed["test_acc"] == pytest.approx(alone["test_acc"], abs=1e-6)
    assert mixed["loss_curve"] == pytest.approx(alone["loss_curve"], rel=1e-5)
    with pytest.raises(ValueError, match="one per seed"):
        train_cell([moons], "H1", 2, [3, 5], cfg, progress=False)


@pytest.mark.parametrize("per_seed", [True, False])
def test_run_cell_draws_data_per_seed_and_seeds_per_study(tmp_path, per_seed):
    save_dataset(make_dataset("double_moons", n_points=400, seed=0), tmp_path / "data.pt")
    settings = dict(TINY, data_per_seed=per_seed)
    recs = {}
    for study in ("table1", "tuning"):
        outs = [str(tmp_path / study / f"seed{i}" / "metrics.json") for i in range(2)]
        run_cell(tmp_path / "data.pt", outs, study, "code", "double_moons", "H1", 2, settings,
                 base_seed=0, progress=False, extra_keys={"analysis": study})
        recs[study] = [read_json(p) for p in outs]
    # Each folder holds its own run's record, with the extra keys.
    assert [(r["seed_index"], r["analysis"]) for r in recs["tuning"]] == [(0, "tuning"), (1, "tuning")]
    seeds = {study: [r["seed"] for r in rs] for study, rs in recs.items()}
    assert len(set(seeds["table1"]) | set(seeds["tuning"])) == 4   # no study shares a seed
    data_seeds = [r["data_seed"] for r in recs["table1"]]
    if per_seed:
        assert data_seeds == [data_seed(s) for s in seeds["table1"]]
        state = torch.load(tmp_path / "table1" / "seed0" / "model.pt", weights_only=True)
        assert state["data_seed"] == data_seeds[0]
    else:
        assert data_seeds == [None, None]


def test_protocols_are_fixed_in_the_config():
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg.update(yaml.safe_load((ROOT / "config" / "tuning_table1.yaml").read_text()))
    code = S.resolve(cfg, "table1", "code", "swiss_roll", "H1")
    # The authors' procedure in every detail (their code: scheme, placement, T, init, penalty,
    # the step-counter reset, data drawn per seed).
    assert {k: code[k] for k in ("scheme", "input_placement", "T", "lr", "epochs", "batch_size",
                                 "alpha", "alpha_c", "bias_init", "ms2_init", "output_init",
                                 "output_penalty", "adam_step_reset", "data_per_seed")} == {
        "scheme": "alternating", "input_placement": "code", "T": 0.8, "lr": 0.05, "epochs": 50,
        "batch_size": 125, "alpha": 5e-4, "alpha_c": 1e-4, "bias_init": "normal",
        "ms2_init": "differences", "output_init": "zeros", "output_penalty": "half",
        "adam_step_reset": True, "data_per_seed": True}
    paper = S.resolve(cfg, "table1", "paper", "swiss_roll", "H1")
    # The paper's text: one Adam over block and output layer, [y0; 0; 0], α_c ‖W‖², plain Adam.
    assert {k: paper[k] for k in ("scheme", "input_placement", "output_penalty", "adam_step_reset")} == {
        "scheme": "joint", "input_placement": "paper", "output_penalty": "full", "adam_step_reset": False}
    assert {k: v for k, v in paper.items() if k not in cfg["table1"]["protocols"]["paper"]} == \
        {k: v for k, v in code.items() if k not in cfg["table1"]["protocols"]["paper"]}
    # The schema knows the same protocols as hdnn.settings.
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert schema["definitions"]["protocol"]["enum"] == list(S.PROTOCOLS)
    assert schema["properties"]["table1"]["properties"]["protocols"]["required"] == list(S.FIXED_PROTOCOLS)
    assert list(cfg["table1"]["protocols"]) == list(S.FIXED_PROTOCOLS)
    search = S.resolve(cfg, "tuning", S.setting_names(cfg, "tuning")[0], "swiss_roll", "H1")
    assert search["validation"] is True and search["output_penalty"] == "full"   # starts from paper
    for name in S.setting_names(cfg, "tuning"):
        TrainConfig(**S.resolve(cfg, "tuning", name, "double_moons", "MS2"))   # every setting valid

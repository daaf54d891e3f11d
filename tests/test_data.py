import math

import pytest
import torch

from hdnn.data import (double_moons, load_dataset, make_dataset, pad_inputs, save_dataset,
                       split_validation, swiss_roll)


def test_swiss_roll_matches_its_definition():
    x, y = swiss_roll(8000)
    assert x.shape == (8000, 2) and y.tolist() == [0] * 4000 + [1] * 4000
    r = x.double().norm(dim=1)
    assert r[0] == pytest.approx(0.0, abs=1e-6) and r[3999] == pytest.approx(1.0, abs=1e-6)
    assert r[4000] == pytest.approx(0.2, abs=1e-6) and r[7999] == pytest.approx(1.2, abs=1e-6)
    # angle 4π at the end of both spirals: back on the positive x axis
    assert x[3999, 1] == pytest.approx(0.0, abs=1e-5) and x[3999, 0] > 0


def test_double_moons_is_deterministic_and_noisy_within_width():
    x1, y1 = double_moons(8000, seed=3)
    x2, y2 = double_moons(8000, seed=3)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, double_moons(8000, seed=4)[0])
    upper = x1[:2000].double()
    # distance to the unit arc is at most half the noise width along each axis
    assert (upper.norm(dim=1) - 1).abs().max() <= 0.15 * math.sqrt(2) + 1e-6
    assert x1[:, 0].min() >= -2 and x1[:, 0].max() <= 5.2 and y1.bincount().tolist() == [4000, 4000]


@pytest.mark.parametrize("name", ["swiss_roll", "double_moons"])
def test_even_odd_split_has_both_classes(name):
    d = make_dataset(name)
    assert d["x_train"].shape == (4000, 2) and d["x_test"].shape == (4000, 2)
    assert d["y_train"].bincount().tolist() == [2000, 2000]
    assert d["y_test"].bincount().tolist() == [2000, 2000]


def test_unknown_dataset():
    with pytest.raises(ValueError, match="dataset='spiral'"):
        make_dataset("spiral")


def test_pad_inputs_placements():
    x = torch.tensor([[1.0, 2.0]])
    assert pad_inputs(x, 4, "paper").tolist() == [[1.0, 2.0, 0.0, 0.0]]
    assert pad_inputs(x, 4, "code").tolist() == [[1.0, 0.0, 0.0, 2.0]]
    with pytest.raises(ValueError, match="input_placement='middle'"):
        pad_inputs(x, 4, "middle")


def test_validation_split_drops_test_and_partitions_train():
    d = make_dataset("swiss_roll", n_points=100)
    v = split_validation(d)
    assert set(v) == {"x_train", "y_train", "x_val", "y_val"}
    assert len(v["y_train"]) == 40 and len(v["y_val"]) == 10


def test_load_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing: run the data rule"):
        load_dataset(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="corrupt"):
        load_dataset(bad)
    good = tmp_path / "good.pt"
    save_dataset(make_dataset("swiss_roll", n_points=40), good)
    assert load_dataset(good)["x_train"].shape == (20, 2)

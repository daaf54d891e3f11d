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
    # θ_i = 4π i / 4000: the last point stops one step short of 4π, below the positive x axis
    angle = torch.atan2(x[3999, 1].double(), x[3999, 0].double())
    assert float(angle) == pytest.approx(-4 * math.pi / 4000, rel=1e-3)


def _moons(seed=3):
    return double_moons(8000, generator=torch.Generator().manual_seed(seed))


def test_double_moons_layout():
    x, y = _moons()
    assert torch.equal(x, _moons()[0]) and not torch.equal(x, _moons(4)[0])
    assert y.tolist() == [0] * 2000 + [1] * 2000 + [0] * 2000 + [1] * 2000
    x = x.double()
    theta = 3.14 * torch.arange(2000, dtype=torch.float64) / 2000  # an even grid, not random
    arcs = {"A": (torch.cos(theta), torch.sin(theta)), "B": (1 - torch.cos(theta), 0.5 - torch.sin(theta))}
    arcs["C"] = (arcs["A"][0] + 2, arcs["A"][1])
    arcs["D"] = (arcs["B"][0] + 2, arcs["B"][1])
    for k, (ax, ay) in enumerate(arcs.values()):
        part = x[2000 * k:2000 * (k + 1)]
        # every point is its arc point plus noise of at most 0.15 per coordinate
        assert (part[:, 0] - ax).abs().max() <= 0.15 + 1e-6
        assert (part[:, 1] - ay).abs().max() <= 0.15 + 1e-6
    assert -1.15 - 1e-6 <= x[:, 0].min() < -1.1 and 4.1 < x[:, 0].max() <= 4.15 + 1e-6


def test_double_moons_classes_never_touch():
    """Shift 2 keeps opposite classes apart (a shift of 3 makes arcs B and C overlap), so a
    1-nearest-neighbour classifier is perfect on the test split."""
    x, y = _moons()
    d = torch.cdist(x[y == 0].double(), x[y == 1].double())
    assert d.min() > 0.15
    data = make_dataset("double_moons", seed=5)
    nearest = torch.cdist(data["x_test"], data["x_train"]).argmin(1)
    assert torch.equal(data["y_train"][nearest], data["y_test"])


def test_each_seed_draws_and_shuffles_its_own_data():
    a, b = make_dataset("double_moons", seed=1), make_dataset("double_moons", seed=2)
    assert not torch.equal(a["x_train"], b["x_train"])
    assert torch.equal(a["x_train"], make_dataset("double_moons", seed=1)["x_train"])
    # the Swiss roll has no noise: the seed shuffles which points train and which test
    s1, s2 = make_dataset("swiss_roll", seed=1), make_dataset("swiss_roll", seed=2)
    assert not torch.equal(s1["x_test"], s2["x_test"])
    both = torch.cat([s1["x_train"], s1["x_test"]])
    assert torch.equal(both[both[:, 0].argsort(stable=True)].sort(0).values,
                       swiss_roll()[0].sort(0).values)


@pytest.mark.parametrize("name", ["swiss_roll", "double_moons"])
def test_even_odd_split_has_both_classes(name):
    d = make_dataset(name)
    assert d["x_train"].shape == (4000, 2) and d["x_test"].shape == (4000, 2)
    # a random split: both classes in both halves, in about equal numbers
    assert abs(d["y_train"].sum().item() - 2000) < 150 and abs(d["y_test"].sum().item() - 2000) < 150


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

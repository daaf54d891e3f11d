"""Blocks against an independent float64 computation of docs/paper.md's equations.

The reference below is written from the paper in column-vector form with numpy, one sample at a
time, from nothing but ``weights(j)``: it shares no code with hdnn.blocks.
"""

import numpy as np
import pytest
import torch

from hdnn import blocks
from hdnn.blocks import ARCHS, make_block

CASES = [(2, 1, 0.3), (4, 3, 0.1), (6, 5, 0.05), (8, 2, 0.4)]


def ref_layer(arch, w, x, h):
    """One layer, x a column state (n,), paper equations verbatim."""
    n = x.shape[0]
    m = n // 2
    if arch == "MS1":
        y, z = x[:m], x[m:]
        z1 = z - h * np.tanh(w["K0"].T @ y + w["b1"])
        y1 = y + h * np.tanh(w["K0"] @ z1 + w["b2"])
        return np.concatenate([y1, z1])
    if arch == "MS2":
        return x + h * np.tanh(w["K"] @ x + w["b"])
    if arch == "MS3":
        y, z = x[:m], x[m:]
        y1 = y + h * w["K1"].T @ np.tanh(w["K1"] @ z + w["b1"])
        z1 = z - h * w["K2"].T @ np.tanh(w["K2"] @ y1 + w["b2"])
        return np.concatenate([y1, z1])
    if arch in ("H1", "H2"):
        return x + h * w["J"] @ w["K"].T @ np.tanh(w["K"] @ x + w["b"])
    if arch == "FC":
        return np.tanh(w["K"] @ x + w["b"])
    raise AssertionError(arch)


def paper_J(arch, n):
    """J written out entry by entry from section 3.2."""
    J = np.zeros((n, n))
    for i in range(n):
        for k in range(n):
            if arch == "H1":
                m = n // 2
                J[i, k] = 1.0 if k == i + m else (-1.0 if i == k + m else 0.0)
            else:
                J[i, k] = 1.0 if k > i else (-1.0 if k < i else 0.0)
    return J


def ref_trajectory(blk, y0):
    ws = [{k: v.detach().double().numpy() for k, v in blk.weights(j).items()}
          for j in range(blk.depth)]
    out = []
    for x in y0.double().numpy():
        states = [x]
        for w in ws:
            states.append(ref_layer(blk.arch, w, states[-1], blk.h))
        out.append(np.stack(states))
    return np.stack(out, axis=1)  # (depth + 1, batch, nf)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("nf,depth,h", CASES)
@pytest.mark.parametrize("time_invariant", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_forward_matches_paper_equations(arch, nf, depth, h, time_invariant, dtype):
    torch.manual_seed(nf * 100 + depth)
    blk = make_block(arch, nf=nf, depth=depth, h=h, time_invariant=time_invariant,
                     bias_init=torch.nn.init.normal_).to(dtype)
    y0 = torch.randn(7, nf, dtype=dtype)
    expected = ref_trajectory(blk, y0)
    tol = 1e-12 if dtype == torch.float64 else 2e-5
    traj = blk.trajectory(y0)
    assert traj.shape == (depth + 1, 7, nf) and traj.dtype == dtype
    np.testing.assert_allclose(traj.double().detach().numpy(), expected, rtol=tol, atol=tol)
    np.testing.assert_allclose(blk(y0).double().detach().numpy(), expected[-1], rtol=tol, atol=tol)


@pytest.mark.parametrize("arch", ARCHS)
def test_time_invariant_shares_weights(arch):
    blk = make_block(arch, nf=4, depth=5, h=0.1, time_invariant=True)
    w0, w4 = blk.weights(0), blk.weights(4)
    assert all(torch.equal(w0[k], w4[k]) for k in w0)
    varying = make_block(arch, nf=4, depth=5, h=0.1)
    assert not torch.equal(varying.weights(0)["K0" if arch == "MS1" else
                                                 "K1" if arch == "MS3" else "K"],
                           varying.weights(4)["K0" if arch == "MS1" else
                                              "K1" if arch == "MS3" else "K"])


PAPER_COUNTS = {  # Table 1, last row
    "MS1": lambda n: n * n // 4 + n,
    "MS2": lambda n: (n * n + n) // 2,
    "MS3": lambda n: n * n // 2 + n,
    "H1": lambda n: n * n + n,
    "H2": lambda n: n * n + n,
    "FC": lambda n: n * n + n,
}


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("nf", [2, 4, 8])
@pytest.mark.parametrize("time_invariant", [False, True])
def test_parameter_count_matches_table1(arch, nf, time_invariant):
    depth = 6
    blk = make_block(arch, nf=nf, depth=depth, h=0.1, time_invariant=time_invariant)
    total = sum(p.numel() for p in blk.parameters())
    assert blk.params_per_layer() == PAPER_COUNTS[arch](nf)
    assert total == PAPER_COUNTS[arch](nf) * (1 if time_invariant else depth)


@pytest.mark.parametrize("nf", [2, 4, 6])
def test_ms2_matrix_is_skew(nf):
    blk = make_block("MS2", nf=nf, depth=3, h=0.1)
    for j in range(3):
        K = blk.weights(j)["K"]
        assert torch.equal(K, -K.T)
        assert torch.count_nonzero(K) == nf * (nf - 1)


@pytest.mark.parametrize("arch", ["H1", "H2"])
@pytest.mark.parametrize("nf", [2, 4, 8])
def test_j_is_the_papers_matrix(arch, nf):
    blk = make_block(arch, nf=nf, depth=2, h=0.1).double()
    np.testing.assert_array_equal(blk.weights(1)["J"].numpy(), paper_J(arch, nf))


@pytest.mark.parametrize("arch", ARCHS)
def test_spatial_input_equals_flat_pixel_by_pixel(arch):
    torch.manual_seed(0)
    blk = make_block(arch, nf=4, depth=3, h=0.2).double()
    x = torch.randn(2, 4, 5, 3, dtype=torch.float64)
    out = blk(x)
    flat = blk(x.permute(0, 2, 3, 1).reshape(-1, 4)).reshape(2, 5, 3, 4).permute(0, 3, 1, 2)
    assert out.shape == x.shape
    torch.testing.assert_close(out, flat, rtol=0, atol=1e-14)
    assert blk.trajectory(x).shape == (4, 2, 4, 5, 3)


@pytest.mark.parametrize("arch", ARCHS)
def test_regularizer_is_eq13(arch):
    torch.manual_seed(1)
    h = 0.25
    blk = make_block(arch, nf=4, depth=4, h=h, bias_init=torch.nn.init.normal_).double()
    expected = 0.0
    for j in range(1, 4):
        a, b = blk.weights(j), blk.weights(j - 1)
        expected += sum(float(((a[k] - b[k]) ** 2).sum()) for k in a if k != "J")
    assert float(blk.regularizer()) == pytest.approx(h / 2 * expected, rel=1e-12)
    assert float(make_block(arch, 4, 4, h, time_invariant=True).regularizer()) == 0.0


def test_weight_init_is_an_argument():
    blk = make_block("H1", 4, 3, 0.1, weight_init=torch.nn.init.ones_)
    assert torch.equal(blk.weights(2)["K"], torch.ones(4, 4))
    assert torch.equal(blk.weights(2)["b"], torch.zeros(4))
    big = make_block("H2", 8, 200, 0.1)
    assert abs(float(big.K.std()) - 1.0) < 0.05  # default N(0, 1)


@pytest.mark.parametrize("arch", ARCHS)
def test_gradcheck(arch):
    torch.manual_seed(2)
    blk = make_block(arch, nf=4, depth=3, h=0.3, bias_init=torch.nn.init.normal_).double()
    y0 = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    params = tuple(blk.parameters())

    def f(y, *ps):
        return torch.func.functional_call(blk, dict(zip([n for n, _ in blk.named_parameters()], ps)), (y,))

    assert torch.autograd.gradcheck(f, (y0, *params))


BAD = [
    (dict(arch="MS4", nf=4, depth=2, h=0.1), "arch='MS4'"),
    (dict(arch="H1", nf=1, depth=2, h=0.1), "nf=1"),
    (dict(arch="MS1", nf=5, depth=2, h=0.1), "nf=5"),
    (dict(arch="MS3", nf=3, depth=2, h=0.1), "nf=3"),
    (dict(arch="H1", nf=7, depth=2, h=0.1), "nf=7"),
    (dict(arch="H1", nf=4, depth=0, h=0.1), "depth=0"),
    (dict(arch="H2", nf=4, depth=2.5, h=0.1), "depth=2.5"),
    (dict(arch="H2", nf=4, depth=2, h=0.0), "h=0.0"),
    (dict(arch="H2", nf=4, depth=2, h=-1.0), "h=-1.0"),
    (dict(arch="H2", nf=4, depth=2, h=float("nan")), "h=nan"),
    (dict(arch="H2", nf=4, depth=2, h=float("inf")), "h=inf"),
]


@pytest.mark.parametrize("kwargs,needle", BAD)
def test_bad_arguments_raise_clear_errors(kwargs, needle):
    with pytest.raises(ValueError) as err:
        make_block(**kwargs)
    assert needle in str(err.value) and "allowed" in str(err.value)


def test_odd_nf_allowed_where_no_split():
    assert make_block("H2", nf=3, depth=2, h=0.1)(torch.zeros(1, 3)).shape == (1, 3)
    assert make_block("MS2", nf=3, depth=2, h=0.1)(torch.zeros(1, 3)).shape == (1, 3)


@pytest.mark.parametrize("bad", [torch.zeros(3, 5), torch.zeros(4), torch.zeros(2, 3, 4)])
def test_wrong_input_shape_raises(bad):
    blk = make_block("H1", nf=4, depth=2, h=0.1)
    with pytest.raises(ValueError, match=r"dim 1 must hold the nf=4 features"):
        blk(bad)


def test_bad_layer_index_raises():
    with pytest.raises(ValueError, match=r"j=3"):
        make_block("H1", nf=4, depth=3, h=0.1).weights(3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("arch", ARCHS)
def test_cuda_matches_cpu(arch):
    torch.manual_seed(3)
    blk = make_block(arch, nf=4, depth=4, h=0.2).double()
    y0 = torch.randn(5, 4, dtype=torch.float64)
    torch.testing.assert_close(blk.cuda()(y0.cuda()).cpu(), blk.cpu()(y0))


def test_make_block_builds_exactly_the_catalog_s_architectures():
    """hdnn.catalog names the blocks for the torch-free workflow; it must name what blocks builds."""
    assert sorted(blocks._CLASSES) == sorted(ARCHS)

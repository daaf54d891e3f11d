"""hdnn.fast_block: the fast CPU paths equal the reference block, in values and gradients.

The fused path compiles its C++ kernel once (about 10–60 s, cached on disk under
$TORCH_EXTENSIONS_DIR or ~/.cache/hdnn/torch_extensions); without a C++ toolchain its tests skip.
"""

from __future__ import annotations

import time

import pytest
import torch

from hdnn import fast_block
from hdnn.blocks import make_block
from hdnn.fast_block import (PATH_ENV, block_forward, channel_major_forward, fused_forward,
                             select_path, unsupported_reason)
from hdnn.mnist_train import MnistConfig, MnistNet, train_mnist

ARCHS = ("MS1", "MS2", "MS3", "H1", "H2")
FORWARDS = {"channel-major": channel_major_forward, "fused-cpp": fused_forward}


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.delenv(PATH_ENV, raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def fused():
    ops = fast_block.fused_extension()
    if ops is None:
        pytest.skip("the fused C++ kernel could not be built here (no C++ toolchain?): see the warning")
    return ops


def _forward_for(request, path):
    if path == "fused-cpp":
        request.getfixturevalue("fused")
    return FORWARDS[path]


@pytest.mark.parametrize("path", FORWARDS)
@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("time_invariant", [False, True])
@pytest.mark.parametrize("depth", [1, 3])
@pytest.mark.parametrize("nf", [8, 4])  # 8: Table 2's specialised kernel; 4: the generic one
def test_equals_the_block_in_values_and_gradients(request, path, arch, time_invariant, depth, nf):
    forward = _forward_for(request, path)
    torch.manual_seed(depth + 10 * nf)
    blk = make_block(arch, nf, depth, 0.3, time_invariant, bias_init=torch.nn.init.normal_).double()
    # 5 × 7 pixels: the fused kernel's 16-pixel tiles end in a partial one.
    x = torch.randn(3, nf, 5, 7, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(3, nf, 5, 7, dtype=torch.float64)
    params = [x, *blk.parameters()]
    ref = blk(x)
    ref_grads = torch.autograd.grad((ref * weights).sum(), params)
    out = forward(blk, x)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)
    grads = torch.autograd.grad((out * weights).sum(), params)
    for name, g, r in zip(["x", *dict(blk.named_parameters())], grads, ref_grads):
        torch.testing.assert_close(g, r, rtol=1e-11, atol=1e-11, msg=lambda m: f"d/d{name}: {m}")


@pytest.mark.parametrize("path", FORWARDS)
@pytest.mark.parametrize("arch", ["H2", "MS1"])
def test_float32_error_is_the_references_order(request, path, arch):
    """Table 2's block in float32: the error from the float64 result is of the reference's order
    (the fused kernel's float tanh is a rational approximation, 3e-7 from the exact one)."""
    forward = _forward_for(request, path)
    torch.manual_seed(0)
    blk = make_block(arch, 8, 16, 0.05)
    x = torch.randn(2, 8, 28, 28)
    exact = blk.double()(x.double())
    blk.float()
    ref_err = (blk(x).double() - exact).abs().max()
    assert (forward(blk, x).double() - exact).abs().max() <= 4 * ref_err


@pytest.mark.parametrize("threads", [1, 2])
def test_fused_gradients_are_bitwise_repeatable(fused, threads):
    """Same input, same thread count → the same bits (per-thread sums reduced in a fixed order)."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    blk = make_block("H2", 8, 4, 0.05, bias_init=torch.nn.init.normal_)
    x = torch.randn(3, 8, 28, 28, requires_grad=True)

    def grads():
        out = fused_forward(blk, x)
        return torch.autograd.grad((out * out).sum(), [x, *blk.parameters()])

    assert all(torch.equal(a, b) for a, b in zip(grads(), grads()))


def test_fused_build_is_cached(fused):
    """A second build finds the compiled library on disk and reuses it (no recompilation)."""
    [lib] = fast_block._build_dir().glob("*.so")
    before = lib.stat().st_mtime_ns
    t0 = time.perf_counter()
    fast_block.build_extension()
    assert time.perf_counter() - t0 < 10 and lib.stat().st_mtime_ns == before


def test_fused_library_keeps_denormals(fused):
    """Built with -ffast-math at compile time only: loading it must not turn on flush-to-zero."""
    tiny = torch.tensor(1e-20, dtype=torch.float32)  # tiny² = 1e-40 is a denormal
    assert float(tiny * tiny * 1e20) > 0


def test_build_failure_falls_back_with_one_warning(monkeypatch):
    import torch.utils.cpp_extension

    def broken(**kwargs):
        raise RuntimeError("Error building extension 'hdnn_fused_block'\nlong compiler log")

    monkeypatch.setattr(torch.utils.cpp_extension, "load", broken)
    fast_block.fused_extension.cache_clear()
    try:
        blk = make_block("H2", 8, 2, 0.1)
        with pytest.warns(RuntimeWarning, match="fused-cpp block path unavailable") as record:
            assert select_path(blk, "cpu") == "channel-major"
            assert select_path(blk, "cpu", "fused-cpp") == "channel-major"
        assert len(record) == 1 and "\n" not in str(record[0].message)
        with pytest.raises(RuntimeError, match="could not be built"):
            fused_forward(blk, torch.randn(2, 8, 3, 3))
    finally:
        fast_block.fused_extension.cache_clear()  # later tests load the real library again


def test_path_selection(monkeypatch):
    blk = make_block("H2", 8, 2, 0.1)
    assert select_path(blk, "cpu") in ("fused-cpp", "channel-major")
    assert select_path(blk, "cpu", "channel-major") == "channel-major"
    assert select_path(blk, "cuda") == "reference"  # a GPU runs the reference path
    assert "cuda" in unsupported_reason(blk, "cuda")
    monkeypatch.setenv(PATH_ENV, "reference")
    assert select_path(blk, "cpu") == "reference"
    monkeypatch.setenv(PATH_ENV, "fast")
    with pytest.raises(ValueError, match=PATH_ENV):
        select_path(blk, "cpu")


def test_fc_takes_the_reference_path():
    blk = make_block("FC", 8, 2, 0.1)
    x = torch.randn(2, 8, 3, 3)
    assert select_path(blk, "cpu", "fused-cpp") == "reference" and "FC" in unsupported_reason(blk, "cpu")
    assert channel_major_forward(blk, x) is None and fused_forward(blk, x) is None
    torch.testing.assert_close(block_forward(blk, x), blk(x))


@pytest.mark.parametrize("forward", FORWARDS.values())
@pytest.mark.parametrize("shape, needle", [((2, 6, 3, 3), "nf=8"), ((2, 8), "per-pixel")])
def test_bad_input_raises(forward, shape, needle):
    with pytest.raises(ValueError, match=needle):
        forward(make_block("H2", 8, 2, 0.1), torch.randn(shape))


def test_network_records_its_path(monkeypatch):
    torch.manual_seed(0)
    net = MnistNet("H2", 2, 0.05)
    x = torch.randn(2, 1, 28, 28)
    ref = net.fc(net.block(net.conv(x)).flatten(1))
    torch.testing.assert_close(net(x), ref)
    assert net.block_path == select_path(net.block, "cpu")
    monkeypatch.setenv(PATH_ENV, "reference")
    net(x)
    assert net.block_path == "reference"


@pytest.fixture
def float64_default():
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def test_training_through_each_path_gives_the_same_run(monkeypatch, float64_default):
    """Two short epochs on synthetic images, in float64 so that rounding cannot part the runs
    (in float32 any change of rounding grows over Adam's steps): every path ends at the same
    objective, losses and accuracy."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (400,), generator=g)
    x = torch.randn(400, 1, 28, 28, generator=g)
    x[torch.arange(400), 0, 2 * y + 4, :] += 1.0
    data = {"x_train": x[:300], "y_train": y[:300], "x_test": x[300:], "y_test": y[300:]}
    cfg = MnistConfig(h=0.05, weight_decay=2e-4, epochs=2)
    paths = ["reference", "channel-major"] + (["fused-cpp"] if fast_block.fused_extension() else [])
    runs = {}
    for path in paths:
        monkeypatch.setenv(PATH_ENV, path)
        res = train_mnist(data, "H2", 2, 0, cfg, device=torch.device("cpu"), progress=False)
        assert res["net"].block_path == path and res["net"].fc.weight.dtype == torch.float64
        runs[path] = res["evals"]["2"]
    for path in paths[1:]:
        for key in ("objective", "train_loss", "test_loss", "train_acc", "test_acc"):
            assert runs[path][key] == pytest.approx(runs["reference"][key], rel=1e-9), (path, key)

"""hdnn.fast_block: the fast CPU paths equal the reference block, in values and gradients.

The fused path compiles its C++ kernel once (about 10–60 s, cached on disk under
$TORCH_EXTENSIONS_DIR or ~/.cache/hdnn/torch_extensions); without a C++ toolchain its tests skip.
One test builds it a second time, for x86-64-v3, on an x86 CPU with AVX2.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from hdnn import fast_block
from hdnn.blocks import make_block
from hdnn.fast_block import (MARCH_ENV, PATH_ENV, PATHS, block_forward, channel_major_forward,
                             fused_forward, measured_paths, select_path, unsupported_reason)
from hdnn.mnist_train import MnistConfig, MnistNet, train_mnist
from hdnn.cpu import cpu_vector_flags

ARCHS = ("MS1", "MS2", "MS3", "H1", "H2")
FORWARDS = {"channel-major": channel_major_forward, "fused-cpp": fused_forward}


@pytest.fixture(autouse=True)
def isolated_block_paths(monkeypatch, tmp_path_factory, one_thread):
    """One thread (conftest.py), no forced path, and measured path times in a file of this
    session, not the user's."""
    monkeypatch.delenv(PATH_ENV, raising=False)
    choices = tmp_path_factory.getbasetemp() / "block_paths.json"
    monkeypatch.setattr(fast_block, "_choices_file", lambda: choices)


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


def _fused_run(blk, x):
    """Output and every gradient (input, parameters) of a weighted sum of the fused output."""
    x = x.detach().requires_grad_(True)
    out = fused_forward(blk, x)
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    return [out.detach(), *torch.autograd.grad((out * weights).sum(), [x, *blk.parameters()])]


@pytest.mark.parametrize("side", [28, 40])  # 40 × 40: an image of two chunks of pixels
def test_fused_bits_do_not_depend_on_the_thread_count(fused, side):
    """1 and 2 threads give the same bits, output and gradients: the weight gradients are summed
    per chunk of pixels and the chunks added in order, whichever thread took them."""
    torch.manual_seed(0)
    blk = make_block("H2", 8, 4, 0.05, bias_init=torch.nn.init.normal_)
    x = torch.randn(3, 8, side, side)
    runs = []
    for threads in (1, 2, 1):
        torch.set_num_threads(threads)
        runs.append(_fused_run(blk, x))
    assert all(torch.equal(a, b) for a, b in zip(runs[0], runs[1]))
    assert all(torch.equal(a, b) for a, b in zip(runs[0], runs[2]))


def test_fused_tile_is_one_vector_register(fused):
    """A tile spans one register of the widest vector unit (-march=native here): 64 bytes with
    AVX-512, 32 with AVX2, 16 otherwise; and the kernel is built with OpenMP."""
    vec_bytes, openmp = fused.build_info()
    flags = set(cpu_vector_flags())
    if fast_block.kernel_target() == "native" and platform.machine() == "x86_64":
        assert vec_bytes == (64 if "avx512f" in flags else 32 if "avx2" in flags else 16)
    assert openmp == 1


_OTHER_BUILD = """
import sys, torch
from hdnn import fast_block
from hdnn.blocks import make_block
torch.manual_seed(0)
blk = make_block("H2", 8, 16, 0.05)
x = torch.randn(4, 8, 28, 28, requires_grad=True)
out = fast_block.fused_forward(blk, x)
grads = torch.autograd.grad(out.square().sum(), [x, *blk.parameters()])
torch.save([out.detach(), *grads, torch.tensor(fast_block.fused_extension().build_info())], sys.argv[1])
"""


@pytest.mark.skipif(platform.machine() != "x86_64" or "avx2" not in cpu_vector_flags(),
                    reason="an x86-64-v3 (AVX2) build runs on x86 CPUs with AVX2")
def test_avx2_build_agrees_with_the_native_one(fused, tmp_path):
    """The kernel built for x86-64-v3 (8-float tiles; another process, since both register the same
    operators) and the native one are as far from the reference path as float32 allows."""
    env = {**os.environ, MARCH_ENV: "x86-64-v3", "PYTHONPATH": str(Path(fast_block.__file__).parents[1])}
    subprocess.run([sys.executable, "-c", _OTHER_BUILD, str(tmp_path / "v3.pt")], env=env, check=True)
    *v3, info = torch.load(tmp_path / "v3.pt")
    assert info.tolist() == [32, 1]
    torch.manual_seed(0)
    blk = make_block("H2", 8, 16, 0.05)
    x = torch.randn(4, 8, 28, 28, requires_grad=True)
    runs = {}
    for name, forward in (("native", fused_forward), ("reference", lambda b, x: b(x))):
        out = forward(blk, x)
        runs[name] = [out.detach(), *torch.autograd.grad(out.square().sum(), [x, *blk.parameters()])]
    for a, b, r in zip(v3, runs["native"], runs["reference"]):
        scale = r.abs().max()
        assert (a - r).abs().max() <= 1e-4 * scale and (b - r).abs().max() <= 1e-4 * scale


def test_fused_build_is_cached(fused):
    """A second build finds the compiled library on disk and reuses it (no recompilation)."""
    [lib] = fast_block._build_dir().glob("*.so")
    before = lib.stat().st_mtime_ns
    t0 = time.perf_counter()
    fast_block.build_extension()
    assert time.perf_counter() - t0 < 10 and lib.stat().st_mtime_ns == before


def test_fused_library_keeps_denormals(fused):
    """Loading the library must not turn on flush-to-zero for the process (as -ffast-math at link
    time would)."""
    tiny = torch.tensor(1e-20, dtype=torch.float32)  # tiny² = 1e-40 is a denormal
    assert float(tiny * tiny * 1e20) > 0


def test_build_failure_falls_back_with_one_warning(monkeypatch):
    import torch.utils.cpp_extension

    def broken(**kwargs):
        raise RuntimeError("Error building extension 'hdnn_fused_block'\nlong compiler log")

    monkeypatch.setattr(torch.utils.cpp_extension, "load", broken)
    monkeypatch.setattr(fast_block, "measured_paths", lambda dtype, threads: dict(zip(PATHS, (1, 2, 3))))
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


def test_build_without_openmp_runs_on_one_thread_with_one_warning(monkeypatch, fused):
    import torch.utils.cpp_extension

    calls = []

    def no_openmp(**kwargs):
        calls.append(kwargs["extra_cflags"])
        if "-fopenmp" in kwargs["extra_cflags"]:
            raise RuntimeError("g++: error: unsupported option '-fopenmp'\nlong compiler log")

    monkeypatch.setattr(torch.utils.cpp_extension, "load", no_openmp)
    with pytest.warns(RuntimeWarning, match="without OpenMP") as record:
        fast_block.build_extension()
    assert len(record) == 1 and "\n" not in str(record[0].message)
    assert "-fopenmp" in calls[0] and "-fopenmp" not in calls[1] and len(calls) == 2


def test_path_is_measured_once_per_cpu_and_cached(monkeypatch, fused):
    """Unforced, the path is the fastest in a short measurement, written to disk on first use and
    read back later; measuring leaves the caller's random numbers untouched."""
    measured_paths.cache_clear()
    rng = torch.get_rng_state()
    times = measured_paths(torch.float32, 1)
    assert torch.equal(torch.get_rng_state(), rng)
    assert set(times) == set(PATHS) and all(t > 0 for t in times.values())
    [(key, stored)] = json.loads(fast_block._choices_file().read_text()).items()
    assert stored == times and "float32" in key and "1 threads" in key
    assert select_path(make_block("H2", 8, 2, 0.1), "cpu") == min(times, key=times.get)
    measured_paths.cache_clear()
    monkeypatch.setattr(fast_block, "_time_path", lambda *args: pytest.fail("measured again"))
    assert measured_paths(torch.float32, 1) == times
    measured_paths.cache_clear()


def test_path_selection(monkeypatch):
    blk = make_block("H2", 8, 2, 0.1)
    monkeypatch.setattr(fast_block, "measured_paths", lambda dtype, threads: dict(zip(PATHS, (3, 2, 1))))
    assert select_path(blk, "cpu") == "reference"  # the fastest measured, even the reference
    monkeypatch.setattr(fast_block, "measured_paths", lambda dtype, threads: dict(zip(PATHS, (1, 2, 3))))
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

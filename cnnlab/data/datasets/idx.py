"""MNIST and Fashion-MNIST from IDX files (gzip-compressed or raw).

An IDX file is a big-endian header -- two zero bytes, a type code (0x08 for uint8) and the
number of dimensions, so images are magic 2051 and labels 2049 -- then one uint32 per
dimension, then the values.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from cnnlab.data.dataset import ArrayDataset, DatasetError
from cnnlab.data.datasets.paths import data_dir, fashion_mnist_dirs, install_hint

__all__ = ["FashionMNIST", "MNIST", "read_idx"]

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049


MAX_BYTES = 1 << 30  # 1 GiB: 20x MNIST's training images


def read_idx(path, magic: int | None = None) -> np.ndarray:
    """Read a uint8 IDX file (``.gz`` or raw); check its magic number and size.

    Raises:
        DatasetError: naming the file, if it cannot be decompressed, has the wrong magic
            number or type, or is shorter or longer than its header says.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            gz = f.read(2) == b"\x1f\x8b"
        # decompressed as a stream, and no further than the header's size: a small .gz
        # that inflates to gigabytes (a gzip bomb) is refused before it is inflated
        with (gzip.open if gz else open)(path, "rb") as f:
            raw = f.read(4)
            ndim = raw[3] if len(raw) == 4 else 0
            raw += f.read(4 * ndim)
            header = 4 + 4 * ndim
            size = None
            if len(raw) == header and ndim:
                shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
                size = int(np.prod(shape, dtype=np.int64))
                if size > MAX_BYTES:
                    raise DatasetError(
                        f"{path}: header says shape {shape} ({size} bytes), more than the "
                        f"{MAX_BYTES} an IDX data set may hold"
                    )
            raw += f.read(size + 1 if size is not None else -1)
    except (OSError, EOFError, zlib.error) as e:
        raise DatasetError(f"{path}: cannot read IDX file ({e})") from e
    if len(raw) < 4:
        raise DatasetError(f"{path}: truncated IDX file: {len(raw)} bytes, no header")
    found = int.from_bytes(raw[:4], "big")
    if magic is not None and found != magic:
        raise DatasetError(f"{path}: bad magic number {found}, expected {magic}")
    if raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise DatasetError(f"{path}: bad magic number {found}: not a uint8 IDX file")
    if ndim == 0 or len(raw) < header:
        raise DatasetError(f"{path}: truncated IDX header ({len(raw)} bytes, {ndim} dims)")
    expected = header + size
    if len(raw) != expected:
        kind = "truncated" if len(raw) < expected else "has trailing bytes"
        got = "more" if len(raw) > expected else len(raw)
        raise DatasetError(
            f"{path}: {kind}: header says shape {shape} ({expected} bytes), file has {got}"
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def _find(root: Path, split: str, kind: str) -> Path | None:
    stem = "idx3-ubyte" if kind == "images" else "idx1-ubyte"
    for name in (f"{split}-{kind}-{stem}", f"{split}-{kind}.{stem}"):
        for suffix in ("", ".gz"):
            p = root / f"{name}{suffix}"
            if p.is_file():
                return p
    return None


def load_idx_pair(root, train: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(images (N, H, W) uint8, labels (N,) int64)`` for the train or t10k split in ``root``."""
    root = Path(root)
    split = "train" if train else "t10k"
    img_path, lbl_path = _find(root, split, "images"), _find(root, split, "labels")
    for p, kind in ((img_path, "images"), (lbl_path, "labels")):
        if p is None:
            stem = "idx3" if kind == "images" else "idx1"
            raise DatasetError(f"{root}: no {split}-{kind}-{stem}-ubyte(.gz) file")
    images = read_idx(img_path, IMAGES_MAGIC)
    labels = read_idx(lbl_path, LABELS_MAGIC)
    if images.ndim != 3:
        raise DatasetError(f"{img_path}: images must have 3 dims (N, H, W), got {images.shape}")
    if labels.ndim != 1:
        raise DatasetError(f"{lbl_path}: labels must have 1 dim (N,), got {labels.shape}")
    if len(images) != len(labels):
        raise DatasetError(
            f"{img_path} holds {len(images)} images but {lbl_path} holds {len(labels)} labels"
        )
    return images, labels.astype(np.int64)


class _IDXDataset(ArrayDataset):
    def __init__(self, root, train: bool, transform, target_transform) -> None:
        self.root = Path(root)
        self.train = train
        images, labels = load_idx_pair(self.root, train)
        super().__init__(images, labels, transform, target_transform)


class FashionMNIST(_IDXDataset):
    """Zalando's Fashion-MNIST: 28x28 grey clothing images, 60,000 train / 10,000 test.

    ``root`` defaults to ``$CNNLAB_DATA/fashion-mnist`` when that exists, else the Debian
    package's ``/usr/share/datasets/fashion-mnist``.

    Shape:
        - image: (1, 28, 28) float32 in [0, 1]; data: (N, 28, 28) uint8
    """

    classes = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]  # fmt: skip

    def __init__(self, root=None, train: bool = True, transform=None, target_transform=None):
        if root is None:
            candidates = fashion_mnist_dirs()
            root = next((d for d in candidates if d.is_dir()), None)
            if root is None:
                where = ", ".join(str(d) for d in candidates)
                raise DatasetError(
                    f"FashionMNIST: data not found (looked in {where}); "
                    f"{install_hint('fashion-mnist')}"
                )
        super().__init__(root, train, transform, target_transform)


class MNIST(_IDXDataset):
    """LeCun's MNIST handwritten digits from IDX files in ``root``
    (default ``$CNNLAB_DATA/mnist``, else ``~/.cache/cnnlab/mnist``).

    Shape:
        - image: (1, 28, 28) float32 in [0, 1]; data: (N, 28, 28) uint8
    """

    classes = [
        "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
        "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine",
    ]  # fmt: skip

    def __init__(self, root=None, train: bool = True, transform=None, target_transform=None):
        if root is None:
            root = data_dir() / "mnist"
            if not os.path.isdir(root):
                raise DatasetError(f"MNIST: data not found in {root}; {install_hint('mnist')}")
        super().__init__(root, train, transform, target_transform)

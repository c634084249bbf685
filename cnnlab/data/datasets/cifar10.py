"""CIFAR-10 from the "python version" batches, read with a restricted unpickler.

The batches are pickles, and unpickling runs whatever callables a file names, so
:class:`_CifarUnpickler` admits only the three globals NumPy's array pickles reference and
refuses everything else (``os.system`` and friends).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from cnnlab.data.dataset import ArrayDataset, DatasetError

try:  # NumPy 2 moved numpy.core to numpy._core; old pickles name the former
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core.multiarray import _reconstruct

__all__ = ["CIFAR10", "load_cifar_pickle"]

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}

TRAIN_FILES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_FILES = ["test_batch"]
CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]  # fmt: skip


class _CifarUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        obj = _ALLOWED.get((module, name))
        if obj is None:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: CIFAR pickles reference only "
                "numpy array reconstruction"
            )
        return obj


def load_cifar_pickle(path) -> dict:
    """Unpickle one CIFAR batch file (``encoding='bytes'``: keys come back as bytes)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            obj = _CifarUnpickler(f, encoding="bytes").load()
    except pickle.UnpicklingError as e:
        raise DatasetError(f"{path}: {e}") from e
    except (OSError, EOFError, ValueError, TypeError) as e:
        raise DatasetError(f"{path}: not a readable CIFAR batch ({e})") from e
    if not isinstance(obj, dict):
        raise DatasetError(f"{path}: expected a dict, got {type(obj).__name__}")
    return obj


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    batch = load_cifar_pickle(path)
    if b"data" not in batch or b"labels" not in batch:
        raise DatasetError(f"{path}: missing b'data' or b'labels' (keys: {sorted(batch)})")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DatasetError(
            f"{path}: b'data' must be uint8 (n, 3072), got {data.dtype} {data.shape}"
        )
    if len(labels) != len(data):
        raise DatasetError(f"{path}: {len(data)} images but {len(labels)} labels")
    # rows are 1024 red, 1024 green, 1024 blue values, each plane row-major
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


class CIFAR10(ArrayDataset):
    """CIFAR-10: 32x32 colour images in 10 classes, 50,000 train / 10,000 test.

    ``root`` is the ``cifar-10-batches-py`` folder or a folder containing it.

    Shape:
        - image: (3, 32, 32) float32 in [0, 1]; data: (N, 32, 32, 3) uint8
    """

    def __init__(self, root, train: bool = True, transform=None, target_transform=None) -> None:
        root = Path(root)
        if (root / "cifar-10-batches-py").is_dir():
            root = root / "cifar-10-batches-py"
        self.root = root
        self.train = train
        files = TRAIN_FILES if train else TEST_FILES
        missing = [f for f in files if not (root / f).is_file()]
        if missing:
            raise DatasetError(
                f"CIFAR10: {root} lacks {', '.join(missing)}; download and extract "
                "cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html"
            )
        parts = [_read_batch(root / f) for f in files]
        self.classes = list(CLASSES)
        meta = root / "batches.meta"
        if meta.is_file():
            names = load_cifar_pickle(meta).get(b"label_names")
            if names:
                self.classes = [n.decode() if isinstance(n, bytes) else str(n) for n in names]
        super().__init__(
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            transform,
            target_transform,
        )

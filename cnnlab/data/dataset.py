"""Dataset bases: the map-style protocol, in-memory array datasets, subsets and splits.

A dataset is anything with ``__len__`` and ``__getitem__`` returning a sample. Datasets
that hold all their raw pixels in one array (:class:`ArrayDataset`) also offer
``get_batch(indices, rng)``, which gathers a whole batch with fancy indexing and applies a
vectorised transform; :class:`~cnnlab.data.loader.DataLoader` uses it instead of a Python
loop over samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np

from cnnlab import backend
from cnnlab.autograd import Tensor

__all__ = [
    "ArrayDataset",
    "ConcatDataset",
    "Dataset",
    "DatasetError",
    "IterableDataset",
    "Subset",
    "TensorDataset",
    "random_split",
    "split_indices",
    "supports_batch",
]


class DatasetError(ValueError):
    """A data file is missing, malformed or does not match what was expected."""


class Dataset:
    """Map-style dataset: subclasses define ``__len__`` and ``__getitem__``."""

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def __getitem__(self, index):  # pragma: no cover - abstract
        raise NotImplementedError

    def __add__(self, other) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset:
    """Stream-style dataset: subclasses define ``__iter__`` yielding samples; the
    DataLoader batches them in the order they come (no shuffling, no sampler)."""

    def __iter__(self):  # pragma: no cover - abstract
        raise NotImplementedError


def supports_batch(transform) -> bool:
    """Whether ``transform`` can run on a whole (N, C, H, W) batch at once."""
    if transform is None:
        return True
    return callable(getattr(transform, "batch", None)) and getattr(transform, "batchable", True)


def _check_index(index, n: int, name: str) -> int:
    if not isinstance(index, Integral):
        raise TypeError(f"{name} indices must be integers, got {type(index).__name__}")
    index = int(index)
    if not -n <= index < n:
        raise IndexError(f"{name} index {index} out of range for {n} samples")
    return index % n


class ArrayDataset(Dataset):
    """Images held in one uint8 array ``data`` (N, H, W) or (N, H, W, C) with int64 ``targets``.

    ``dataset[i]`` is ``(image, label)``: the image a float32 (C, H, W) array in [0, 1] (raw
    values divided by ``pixel_max``) passed through ``transform``, the label an int passed
    through ``target_transform``.

    Shape:
        - data: (N, H, W) or (N, H, W, C) uint8; image: (C, H, W) float32
    """

    pixel_max: float = 255.0
    classes: list = []

    def __init__(self, data, targets, transform=None, target_transform=None) -> None:
        data = np.asarray(data)
        targets = np.asarray(targets, dtype=np.int64)
        if data.ndim not in (3, 4):
            raise DatasetError(
                f"{type(self).__name__}: data must be (N, H, W) or (N, H, W, C), got {data.shape}"
            )
        if len(data) != len(targets):
            raise DatasetError(
                f"{type(self).__name__}: {len(data)} images but {len(targets)} labels"
            )
        self.data = data
        self.targets = targets
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self) -> int:
        return len(self.data)

    def to_float(self, raw: np.ndarray) -> np.ndarray:
        """Raw pixels (..., H, W[, C]) of one image or a batch -> float32 (..., C, H, W)."""
        batched = raw.ndim == self.data.ndim
        x = raw if batched else raw[None]
        x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
        x = x.astype(np.float32) / np.float32(self.pixel_max)
        return x if batched else x[0]

    def __getitem__(self, index):
        index = _check_index(index, len(self), type(self).__name__)
        img = self.to_float(self.data[index])
        if self.transform is not None:
            img = self.transform(img)
        label = int(self.targets[index])
        if self.target_transform is not None:
            label = self.target_transform(label)
        return img, label

    def get_batch(self, indices, rng=None):
        """``(images (N, C, H, W) float32, labels (N,) int64)``, or None if the transforms
        cannot run vectorised (then the caller falls back to ``__getitem__``)."""
        if self.target_transform is not None or not supports_batch(self.transform):
            return None
        indices = np.asarray(indices, dtype=np.int64)
        imgs = self.to_float(self.data[indices])
        if self.transform is not None:
            imgs = self.transform.batch(imgs, rng)
        return imgs, self.targets[indices]

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}(", f"  samples: {len(self)}"]
        if self.classes:
            lines.append(f"  classes: {len(self.classes)}")
        if self.transform is not None:
            lines.append(f"  transform: {self.transform!r}")
        return "\n".join(lines) + "\n)"


class TensorDataset(Dataset):
    """Samples are the ``i``-th rows of each array (or Tensor) given, as Tensors (PyTorch's
    ``TensorDataset``): ``ds[i]`` is a tuple with one Tensor row per array.

    Shape:
        - every array: (N, ...); a sample: one row of each
    """

    def __init__(self, *tensors) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(backend.to_numpy(_raw(a)) for a in tensors)
        n = len(self.arrays[0])
        if any(len(a) != n for a in self.arrays):
            sizes = [len(a) for a in self.arrays]
            raise ValueError(f"TensorDataset: arrays differ in their first dimension: {sizes}")

    @property
    def tensors(self) -> tuple:
        """The whole columns as Tensors (PyTorch's attribute), sharing memory."""
        return tuple(Tensor(a) for a in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        index = _check_index(index, len(self), "TensorDataset")
        return tuple(Tensor(np.asarray(a[index])) for a in self.arrays)

    def get_batch(self, indices, rng=None):
        indices = np.asarray(indices, dtype=np.int64)
        return tuple(a[indices] for a in self.arrays)


def _raw(a):
    """The array behind a Tensor (or ``a`` itself)."""
    return a.array if isinstance(a, Tensor) else a


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)
        n = len(dataset)
        if self.indices.ndim != 1 or (
            self.indices.size and not (self.indices.min() >= -n and self.indices.max() < n)
        ):
            raise IndexError(f"Subset: indices out of range for a dataset of {n} samples")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        index = _check_index(index, len(self), "Subset")
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices, rng=None):
        get = getattr(self.dataset, "get_batch", None)
        return None if get is None else get(self.indices[np.asarray(indices)], rng)

    @property
    def classes(self):
        return getattr(self.dataset, "classes", None)

    @property
    def targets(self):
        targets = getattr(self.dataset, "targets", None)
        return None if targets is None else np.asarray(targets)[self.indices]


class ConcatDataset(Dataset):
    """The samples of several datasets one after another (PyTorch's ``ConcatDataset``);
    ``cumulative_sizes[i]`` is the number of samples in the first ``i + 1`` datasets."""

    def __init__(self, datasets) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        index = _check_index(index, len(self), "ConcatDataset")
        k = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        start = self.cumulative_sizes[k - 1] if k > 0 else 0
        return self.datasets[k][index - start]


def _resolve_generator(generator) -> np.random.Generator:
    """A NumPy Generator from None (cnnlab's default), a Generator, an int seed, or a
    torch-style generator object with ``initial_seed()``."""
    if generator is None:
        return backend.default_rng()
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(getattr(generator, "generator", None), np.random.Generator):
        return generator.generator
    if callable(getattr(generator, "initial_seed", None)):
        return np.random.default_rng(int(generator.initial_seed()))
    if isinstance(generator, Integral):
        return np.random.default_rng(int(generator))
    raise TypeError(
        f"generator must be None, an int seed or a numpy Generator, got {type(generator).__name__}"
    )


def random_split(dataset, lengths: Sequence, generator=None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given ``lengths``.

    ``lengths`` are counts summing to ``len(dataset)`` or fractions summing to 1 (remainders
    go round-robin to the first subsets, as in PyTorch). ``generator`` is a NumPy Generator,
    an int seed, or None for cnnlab's default generator.
    """
    n = len(dataset)
    lengths = list(lengths)
    if (
        lengths
        and all(0 <= f <= 1 for f in lengths)
        and np.isclose(sum(lengths), 1.0)
        and (sum(lengths) != n)
    ):
        counts = [int(np.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n or any(int(x) != x or x < 0 for x in lengths):
        raise ValueError(
            f"random_split: lengths {lengths} must be non-negative counts summing to {n} "
            "or fractions summing to 1"
        )
    perm = _resolve_generator(generator).permutation(n)
    bounds = np.cumsum([0, *map(int, lengths)])
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def split_indices(targets, test_fraction: float, seed: int = 0):
    """Deterministic stratified split: ``(train_indices, test_indices)``, each in a fixed
    shuffled order. Each class gives ``round(test_fraction * count)`` samples to the test set."""
    if not 0 <= test_fraction < 1:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    targets = np.asarray(targets)
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(targets):
        idx = rng.permutation(np.flatnonzero(targets == c))
        k = int(round(test_fraction * len(idx)))
        test.append(idx[:k])
        train.append(idx[k:])
    train = np.concatenate(train) if train else np.zeros(0, np.int64)
    test = np.concatenate(test) if test else np.zeros(0, np.int64)
    return rng.permutation(train), rng.permutation(test)

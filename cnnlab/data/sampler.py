"""Samplers: the order in which a DataLoader visits a dataset (PyTorch's ``torch.utils.data``).

A sampler is an iterable of dataset indices (a batch sampler: of lists of indices); the
DataLoader iterates it afresh each epoch. The random samplers draw from their ``generator``
(a NumPy Generator, an int seed, or None for cnnlab's default generator, which
``cnnlab.manual_seed`` fixes), so a seeded run visits the same order.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from cnnlab.data.dataset import _resolve_generator

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
]


class Sampler:
    """Base class: subclasses define ``__iter__`` (indices) and usually ``__len__``."""

    def __init__(self, data_source=None) -> None:
        pass

    def __iter__(self):  # pragma: no cover - abstract
        raise NotImplementedError


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source) -> None:
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


def _check_count(name: str, value, what: str) -> int:
    if not isinstance(value, Integral) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name}: {what} should be a positive integer, got {value!r}")
    return int(value)


class RandomSampler(Sampler):
    """A random permutation of the dataset each epoch, or ``num_samples`` indices drawn with
    replacement (``replacement=True``). Without replacement, ``num_samples`` larger than
    the dataset chains several permutations, as in PyTorch."""

    def __init__(self, data_source, replacement: bool = False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a bool, got {replacement!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if num_samples is not None:
            _check_count("RandomSampler", num_samples, "num_samples")

    @property
    def num_samples(self) -> int:
        n = len(self.data_source)
        return n if self._num_samples is None else int(self._num_samples)

    def __iter__(self):
        n = len(self.data_source)
        rng = _resolve_generator(self.generator)
        if self.replacement:
            return iter(rng.integers(0, n, self.num_samples).tolist())
        reps = -(-self.num_samples // n) if n else 0
        order = np.concatenate([rng.permutation(n) for _ in range(reps)]) if reps else []
        return iter(np.asarray(order, dtype=np.int64)[: self.num_samples].tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a new random order each epoch."""

    def __init__(self, indices, generator=None) -> None:
        self.indices = list(np.asarray(indices, dtype=np.int64).tolist())
        self.generator = generator

    def __iter__(self):
        perm = _resolve_generator(self.generator).permutation(len(self.indices))
        return iter([self.indices[i] for i in perm])

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices in ``[0, len(weights))`` drawn with probability proportional to
    ``weights`` (with or without replacement)."""

    def __init__(self, weights, num_samples, replacement: bool = True, generator=None) -> None:
        _check_count("WeightedRandomSampler", num_samples, "num_samples")
        w = np.asarray(weights.array if hasattr(weights, "array") else weights, np.float64)
        if w.ndim != 1 or (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError(
                "WeightedRandomSampler: weights should be a 1-D sequence of non-negative finite "
                f"numbers with a positive sum, got shape {w.shape}"
            )
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(
                f"WeightedRandomSampler: cannot draw {num_samples} samples without replacement "
                f"from {np.count_nonzero(w)} non-zero weights"
            )
        self.weights = w
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        rng = _resolve_generator(self.generator)
        p = self.weights / self.weights.sum()
        draws = rng.choice(len(p), self.num_samples, replace=self.replacement, p=p)
        return iter(draws.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter
    unless ``drop_last``)."""

    def __init__(self, sampler, batch_size: int, drop_last: bool) -> None:
        self.batch_size = _check_count("BatchSampler", batch_size, "batch_size")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a bool, got {drop_last!r}")
        self.sampler = sampler
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(int(i))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

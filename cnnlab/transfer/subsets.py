"""Labelled subsets: ``n`` images of each class, drawn with a seed."""

from __future__ import annotations

import numpy as np

__all__ = ["per_class"]


def per_class(labels: np.ndarray, n: int | None, seed: int = 0, name: str = "data") -> np.ndarray:
    """Indices of ``n`` images of every class of ``labels`` (None: all images), drawn
    without replacement by a generator seeded with ``seed``, sorted. The draws are nested:
    the subset for a smaller ``n`` is part of the one for a larger ``n`` with the same seed.

    Shape:
        - labels: (N,); returns (n * classes,) (or (N,) for None)
    """
    labels = np.asarray(labels, np.int64)
    if n is None:
        return np.arange(len(labels))
    if int(n) < 1:
        raise ValueError(f"per_class: labels per class must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        if len(idx) < n:
            raise ValueError(
                f"per_class: {n} labels per class asked, but {name} has only {len(idx)} "
                f"images of class {int(c)}"
            )
        picked.append(idx[rng.permutation(len(idx))[: int(n)]])
    return np.sort(np.concatenate(picked))

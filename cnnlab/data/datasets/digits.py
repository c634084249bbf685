"""scikit-learn's 1,797 8x8 handwritten digits (UCI), split deterministically."""

from __future__ import annotations

import numpy as np

from cnnlab.data.dataset import ArrayDataset, split_indices

__all__ = ["Digits"]

SPLIT_SEED = 1797


class Digits(ArrayDataset):
    """``sklearn.datasets.load_digits``: pixel values 0..16, scaled to [0, 1].

    A stratified split with a fixed seed keeps ``test_fraction`` of each class for testing.

    Shape:
        - image: (1, 8, 8) float32 in [0, 1]; data: (N, 8, 8) uint8 with values 0..16
    """

    pixel_max = 16.0
    classes = [str(d) for d in range(10)]

    def __init__(
        self, train: bool = True, test_fraction: float = 0.2, transform=None, target_transform=None
    ) -> None:
        try:
            from sklearn.datasets import load_digits
        except ImportError as e:  # pragma: no cover - scikit-learn is a test extra
            raise ImportError("Digits needs scikit-learn: pip install scikit-learn") from e
        bunch = load_digits()
        images = np.asarray(bunch.images).astype(np.uint8)
        labels = np.asarray(bunch.target, dtype=np.int64)
        self.train = train
        train_idx, test_idx = split_indices(labels, test_fraction, SPLIT_SEED)
        idx = train_idx if train else test_idx
        super().__init__(images[idx], labels[idx], transform, target_transform)

"""Training images for a GAN: a data set resolved as ``cnnlab train --data`` resolves it,
fitted to the generator's size and scaled from [0, 1] to the tanh range [-1, 1] here, so a
user never has to (unscaled inputs are the classic reason samples stay noise)."""

from __future__ import annotations

import numpy as np

from cnnlab.gan.classifier import fit_images

__all__ = ["dataset_images", "load_images", "to_tanh_range"]


def to_tanh_range(images01: np.ndarray) -> np.ndarray:
    """[0, 1] -> [-1, 1]."""
    return (np.asarray(images01, np.float32) * 2.0 - 1.0).astype(np.float32)


def dataset_images(ds, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(images (N, C, H, W) float32 in [0, 1], labels (N,))`` of a cnnlab dataset; array
    datasets are read in one go, others item by item."""
    n = len(ds) if limit is None else min(int(limit), len(ds))
    if hasattr(ds, "data") and hasattr(ds, "to_float") and hasattr(ds, "targets"):
        return ds.to_float(ds.data[:n]), np.asarray(ds.targets[:n], np.int64)
    items = [ds[i] for i in range(n)]
    images = np.stack([np.asarray(x, np.float32) for x, _ in items])
    return images, np.array([int(y) for _, y in items], np.int64)


def load_images(
    data: str,
    root=None,
    image_size: int | None = None,
    train: bool = True,
    limit: int | None = None,
) -> dict:
    """Images of ``data`` (fashion-mnist, mnist, mnist-subset, cifar10, digits or a folder)
    for a GAN. Returns ``{'images01', 'labels', 'classes', 'channels', 'image_size'}``;
    ``images01`` in [0, 1] at ``image_size`` (default: 28 for 28x28 data, else 32)."""
    from cnnlab.train.recipes import load_datasets

    train_ds, test_ds = load_datasets(data, root, image_size or 32)
    ds = train_ds if train else test_ds
    images, labels = dataset_images(ds, limit)
    if image_size is None:
        image_size = 28 if images.shape[2:] == (28, 28) else 32
    images = fit_images(images, (image_size, image_size))
    classes = list(getattr(ds, "classes", None) or getattr(train_ds, "classes", None) or [])
    if not classes and len(labels):
        classes = [str(c) for c in range(int(labels.max()) + 1)]
    return {
        "images01": np.clip(images, 0.0, 1.0),
        "labels": labels,
        "classes": [str(c) for c in classes],
        "channels": int(images.shape[1]),
        "image_size": int(image_size),
    }

"""torchvision's ``utils.make_grid`` and ``utils.save_image``: a batch of images tiled into one."""

from __future__ import annotations

import math

import numpy as np

from cnnlab.autograd import Tensor

__all__ = ["make_grid", "save_image"]


def _array(tensor) -> np.ndarray:
    if isinstance(tensor, (list, tuple)):
        return np.stack([_array(t) for t in tensor])
    if isinstance(tensor, Tensor):
        return np.asarray(tensor.array)
    if isinstance(tensor, np.ndarray):
        return tensor
    raise TypeError(f"make_grid: tensor or list of tensors expected, got {type(tensor).__name__}")


def _normalise(a: np.ndarray, value_range) -> np.ndarray:
    low, high = value_range if value_range is not None else (float(a.min()), float(a.max()))
    return (np.clip(a, low, high) - low) / max(high - low, 1e-5)


def make_grid(
    tensor,
    nrow: int = 8,
    padding: int = 2,
    normalize: bool = False,
    value_range: tuple | None = None,
    scale_each: bool = False,
    pad_value: float = 0.0,
) -> Tensor:
    """Tile a batch (B, C, H, W) (or a list of (C, H, W)) into one image, ``nrow`` per row,
    ``padding`` pixels of ``pad_value`` around each; one-channel images become three.
    ``normalize`` shifts each (``scale_each``) or all images into [0, 1] (by ``value_range``
    or their min and max).

    Shape:
        - input: (B, C, H, W); output: (3 or C, rows * (H + padding) + padding,
          nrow * (W + padding) + padding)
    """
    a = _array(tensor).astype(np.float32, copy=True)
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 3:
        a = np.concatenate([a] * 3, axis=0) if a.shape[0] == 1 else a
        a = a[None]
    if a.ndim != 4:
        raise ValueError(f"make_grid: expected (B, C, H, W) images, got shape {a.shape}")
    if a.shape[1] == 1:
        a = np.concatenate([a] * 3, axis=1)
    if normalize:
        if scale_each:
            a = np.stack([_normalise(img, value_range) for img in a])
        else:
            a = _normalise(a, value_range)
    if a.shape[0] == 1:
        return Tensor(np.ascontiguousarray(a[0]))
    n, c, h, w = a.shape
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    hp, wp = h + padding, w + padding
    grid = np.full((c, hp * rows + padding, wp * cols + padding), pad_value, np.float32)
    for k in range(n):
        y, x = divmod(k, cols)
        top, left = y * hp + padding, x * wp + padding
        grid[:, top : top + h, left : left + w] = a[k]
    return Tensor(grid)


def save_image(tensor, fp, format: str | None = None, **kwargs) -> None:
    """Save ``make_grid(tensor, **kwargs)`` as an image file (values in [0, 1] map to 0..255,
    rounded as torchvision rounds them)."""
    from PIL import Image

    grid = make_grid(tensor, **kwargs).array
    pixels = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    Image.fromarray(np.ascontiguousarray(pixels)).save(fp, format=format)

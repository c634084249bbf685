"""Image transforms on float32 (C, H, W) arrays, each with a vectorised (N, C, H, W) form.

``t(img, rng=None)`` transforms one image; ``t.batch(imgs, rng=None)`` a whole batch at once
(the DataLoader's fast path). Random transforms draw from ``rng`` if given, else from the
generator installed by :func:`rng_context` in this thread (the DataLoader installs one per
batch, so augmentation is reproducible), else from ``cnnlab.backend.default_rng()``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np
from scipy import ndimage

from cnnlab import backend
from cnnlab.data.dataset import supports_batch

__all__ = [
    "Compose",
    "ElasticDistortion",
    "Normalize",
    "RandomAffine",
    "RandomCrop",
    "RandomHorizontalFlip",
    "ToFloat",
    "Transform",
    "current_rng",
    "rng_context",
]

_local = threading.local()


@contextmanager
def rng_context(rng: np.random.Generator):
    """Inside the block, random transforms called in this thread without ``rng`` use ``rng``."""
    prev = getattr(_local, "rng", None)
    _local.rng = rng
    try:
        yield rng
    finally:
        _local.rng = prev


def current_rng() -> np.random.Generator:
    """The generator random transforms draw from in this thread: the one :func:`rng_context`
    installed (a DataLoader batch's), else ``cnnlab.backend.default_rng()``."""
    return _resolve(None)


def _resolve(rng) -> np.random.Generator:
    if rng is not None:
        return rng
    return getattr(_local, "rng", None) or backend.default_rng()


def _pair(x, name: str) -> tuple:
    if isinstance(x, (int, float)):
        return (x, x)
    if len(x) != 2:
        raise ValueError(f"{name} must be a number or a pair, got {x!r}")
    return tuple(x)


class Transform:
    """Base class: subclasses implement ``batch``; calling on one image runs a batch of one."""

    batchable = True

    def __call__(self, img, rng=None) -> np.ndarray:
        img = np.asarray(img)
        if img.ndim != 3:
            raise ValueError(f"{type(self).__name__}: expected a (C, H, W) image, got {img.shape}")
        return self.batch(img[None], rng)[0]

    def batch(self, imgs, rng=None) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check(self, imgs) -> np.ndarray:
        imgs = np.asarray(imgs)
        if imgs.ndim != 4:
            raise ValueError(
                f"{type(self).__name__}.batch: expected (N, C, H, W) images, got {imgs.shape}"
            )
        return imgs

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class ToFloat(Transform):
    """uint8 pixels -> float32 in [0, 1]; other dtypes are cast to float32 unchanged."""

    def batch(self, imgs, rng=None):
        imgs = self._check(imgs)
        if imgs.dtype == np.uint8:
            return imgs.astype(np.float32) / np.float32(255)
        return imgs.astype(np.float32, copy=False)


class Normalize(Transform):
    """``(img - mean[c]) / std[c]`` per channel (one value applies to every channel)."""

    def __init__(self, mean, std) -> None:
        self.mean = tuple(float(m) for m in np.atleast_1d(mean))
        self.std = tuple(float(s) for s in np.atleast_1d(std))
        if len(self.mean) != len(self.std) or any(s <= 0 for s in self.std):
            raise ValueError(f"Normalize: need equal-length mean and positive std, got {self}")

    def batch(self, imgs, rng=None):
        imgs = self._check(imgs)
        if len(self.mean) not in (1, imgs.shape[1]):
            raise ValueError(
                f"Normalize: {len(self.mean)} channel means, images have {imgs.shape[1]} channels"
            )
        mean = np.asarray(self.mean, np.float32).reshape(1, -1, 1, 1)
        std = np.asarray(self.std, np.float32).reshape(1, -1, 1, 1)
        return ((imgs - mean) / std).astype(np.float32, copy=False)


class RandomCrop(Transform):
    """Pad by ``padding`` (filled with ``fill``), then crop ``size`` at a uniform random place."""

    def __init__(self, size, padding=0, fill: float = 0.0) -> None:
        self.size = tuple(int(s) for s in _pair(size, "RandomCrop size"))
        self.padding = tuple(int(p) for p in _pair(padding, "RandomCrop padding"))
        self.fill = fill

    def batch(self, imgs, rng=None):
        imgs = self._check(imgs)
        rng = _resolve(rng)
        (h, w), (ph, pw) = self.size, self.padding
        n, _, H, W = imgs.shape
        if h > H + 2 * ph or w > W + 2 * pw:
            raise ValueError(
                f"RandomCrop: crop {self.size} larger than padded image {(H + 2 * ph, W + 2 * pw)}"
            )
        pad = ((0, 0), (0, 0), (ph, ph), (pw, pw))
        padded = np.pad(imgs, pad, constant_values=self.fill) if ph or pw else imgs
        i = rng.integers(0, H + 2 * ph - h + 1, size=n)
        j = rng.integers(0, W + 2 * pw - w + 1, size=n)
        windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(2, 3))
        return windows[np.arange(n), :, i, j]  # (N, C, h, w): one window per image


class RandomHorizontalFlip(Transform):
    """Mirror left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def batch(self, imgs, rng=None):
        imgs = self._check(imgs)
        flip = _resolve(rng).random(len(imgs)) < self.p
        out = imgs.copy()
        out[flip] = imgs[flip][..., ::-1]
        return out


def _resample(imgs: np.ndarray, sy: np.ndarray, sx: np.ndarray, fill: float) -> np.ndarray:
    """Bilinear samples ``out[n, c, y, x] = imgs[n, c, sy[n, y, x], sx[n, y, x]]``, with
    ``fill`` outside the image: ``ndimage.map_coordinates(order=1, mode="grid-constant")``
    on every image at once, as four gathers from the flattened, fill-bordered batch."""
    n, c, h, w = imgs.shape
    padded = np.pad(imgs, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=fill)
    flat = padded.reshape(-1)
    # clipping keeps far-away samples on the fill border; min(.., h - 1) keeps y0 + 1 in range
    sy, sx = np.clip(sy, -1, h), np.clip(sx, -1, w)
    y0, x0 = np.minimum(np.floor(sy), h - 1), np.minimum(np.floor(sx), w - 1)
    wy = (sy - y0).astype(np.float32).reshape(n, 1, -1)
    wx = (sx - x0).astype(np.float32).reshape(n, 1, -1)
    row = w + 2
    corner = ((y0.astype(np.intp) + 1) * row + x0.astype(np.intp) + 1).reshape(n, 1, -1)
    plane = (h + 2) * row
    idx = corner + (np.arange(n * c) * plane).reshape(n, c, 1)
    top = flat[idx] * (1 - wx) + flat[idx + 1] * wx
    bottom = flat[idx + row] * (1 - wx) + flat[idx + row + 1] * wx
    out = top * (1 - wy) + bottom * wy
    return out.reshape(n, c, h, w).astype(imgs.dtype, copy=False)


class RandomAffine(Transform):
    """Random rotation (degrees, counter-clockwise), translation (fraction of width/height)
    and scaling about the image centre, resampled bilinearly; uncovered pixels get ``fill``.

    ``degrees`` is ``d`` for ``(-d, d)`` or a range; ``translate=(a, b)`` shifts by up to
    ``a * W`` horizontally and ``b * H`` vertically (whole pixels, as in torchvision);
    ``scale=(lo, hi)``.
    """

    def __init__(self, degrees=0.0, translate=None, scale=None, fill: float = 0.0) -> None:
        d = _pair(degrees, "RandomAffine degrees")
        self.degrees = (-abs(d[0]), abs(d[0])) if isinstance(degrees, (int, float)) else d
        self.translate = None if translate is None else _pair(translate, "translate")
        self.scale = None if scale is None else _pair(scale, "scale")
        self.fill = fill

    def batch(self, imgs, rng=None):
        imgs = self._check(imgs)
        rng = _resolve(rng)
        n, _, H, W = imgs.shape
        theta = np.deg2rad(rng.uniform(*self.degrees, size=n))
        tx = ty = np.zeros(n)
        if self.translate is not None:
            a, b = self.translate
            tx = np.round(rng.uniform(-a * W, a * W, size=n))
            ty = np.round(rng.uniform(-b * H, b * H, size=n))
        s = np.ones(n) if self.scale is None else rng.uniform(*self.scale, size=n)
        cy, cx = (H - 1) / 2, (W - 1) / 2
        y, x = np.mgrid[0:H, 0:W].astype(np.float64)
        cos, sin, s = (v.reshape(-1, 1, 1) for v in (np.cos(theta), np.sin(theta), s))
        dy = y - cy - ty.reshape(-1, 1, 1)
        dx = x - cx - tx.reshape(-1, 1, 1)
        # invert out = c + s R (in - c) + t, R rotating counter-clockwise on screen (y down)
        sx = cx + (dx * cos - dy * sin) / s
        sy = cy + (dx * sin + dy * cos) / s
        return _resample(imgs, sy, sx, self.fill)


class ElasticDistortion(Transform):
    """Elastic distortion (Simard, Steinkraus & Platt, 2003): each pixel moves by a random
    field, uniform in [-1, 1], smoothed by a Gaussian of std ``sigma`` and scaled by ``alpha``."""

    def __init__(self, alpha: float = 34.0, sigma: float = 4.0, fill: float = 0.0) -> None:
        self.alpha = alpha
        self.sigma = sigma
        self.fill = fill

    def batch(self, imgs, rng=None):
        imgs = self._check(imgs)
        n, _, H, W = imgs.shape
        field = _resolve(rng).uniform(-1, 1, size=(2, n, H, W)).astype(np.float32)
        field = ndimage.gaussian_filter(field, sigma=(0, 0, self.sigma, self.sigma)) * self.alpha
        y, x = np.mgrid[0:H, 0:W].astype(np.float64)
        return _resample(imgs, y + field[0], x + field[1], self.fill)


class Compose(Transform):
    """Apply ``transforms`` in order; vectorised when every one of them is."""

    def __init__(self, transforms: Sequence) -> None:
        self.transforms = list(transforms)

    @property
    def batchable(self) -> bool:
        return all(supports_batch(t) for t in self.transforms)

    def __call__(self, img, rng=None):
        for t in self.transforms:
            img = t(img, rng) if isinstance(t, Transform) else t(img)
        return img

    def batch(self, imgs, rng=None):
        if not self.batchable:
            raise TypeError("Compose.batch: some transforms have no vectorised batch form")
        for t in self.transforms:
            imgs = t.batch(imgs, rng)
        return imgs

    def __repr__(self) -> str:
        inner = "".join(f"\n  {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"

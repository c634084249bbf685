"""torchvision's ColorJitter and the colour functions it draws on: ``adjust_brightness``,
``adjust_contrast``, ``adjust_saturation``, ``adjust_hue``. PIL Images go through Pillow's
``ImageEnhance`` and HSV conversion, as in torchvision; Tensors (..., C, H, W), float in [0, 1]
or uint8, are computed here:

    brightness:  out = clip(f · x)
    contrast:    out = clip(f · x + (1 - f) · mean(grey(x)))     (one mean per image)
    saturation:  out = clip(f · x + (1 - f) · grey(x))           (grey: ITU-R 601 luma)
    hue:         h <- (h + f) mod 1 in HSV, then back to RGB

A one-channel image keeps its colours under saturation and hue.
"""

from __future__ import annotations

from numbers import Number

import numpy as np

from cnnlab.data.transforms import current_rng
from cnnlab.vision.transforms.conversion import is_pil
from cnnlab.vision.transforms.geometry import _planes

__all__ = [
    "ColorJitter",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
]


def _blend(a: np.ndarray, b, ratio: float) -> np.ndarray:
    bound = 255.0 if a.dtype == np.uint8 else 1.0
    x = a.astype(np.float32) if a.dtype == np.uint8 else a
    out = np.clip(ratio * x + (1.0 - ratio) * b, 0, bound)
    return out.astype(a.dtype)


def _grey(a: np.ndarray) -> np.ndarray:
    """Luma (..., 1, H, W) of an RGB array, in float; uint8 luma is truncated as torchvision's."""
    r, g, b = (a[..., i : i + 1, :, :].astype(np.float32) for i in range(3))
    grey = 0.2989 * r + 0.587 * g + 0.114 * b
    return np.floor(grey) if a.dtype == np.uint8 else grey.astype(a.dtype)


def _enhance(img, kind: str, factor: float):
    from PIL import ImageEnhance

    return getattr(ImageEnhance, kind)(img).enhance(factor)


def adjust_brightness(img, brightness_factor: float):
    """Scale every value by ``brightness_factor`` (0 black, 1 unchanged)."""
    if is_pil(img):
        return _enhance(img, "Brightness", brightness_factor)
    a, pack = _planes(img, "adjust_brightness")
    return pack(_blend(a, 0.0, brightness_factor))


def adjust_contrast(img, contrast_factor: float):
    """Blend with the image's mean grey (0 flat grey, 1 unchanged)."""
    if is_pil(img):
        return _enhance(img, "Contrast", contrast_factor)
    a, pack = _planes(img, "adjust_contrast")
    grey = _grey(a) if a.shape[-3] == 3 else a.astype(np.float32)
    return pack(_blend(a, grey.mean(axis=(-3, -2, -1), keepdims=True), contrast_factor))


def adjust_saturation(img, saturation_factor: float):
    """Blend with the grey version (0 grey, 1 unchanged)."""
    if is_pil(img):
        return _enhance(img, "Color", saturation_factor)
    a, pack = _planes(img, "adjust_saturation")
    if a.shape[-3] == 1:
        return img
    return pack(_blend(a, _grey(a), saturation_factor))


def _rgb_to_hsv(x: np.ndarray) -> tuple:
    r, g, b = x[..., 0, :, :], x[..., 1, :, :], x[..., 2, :, :]
    maxc, minc = x.max(axis=-3), x.min(axis=-3)
    flat = maxc == minc
    chroma = maxc - minc
    s = chroma / np.where(flat, 1, maxc)
    div = np.where(flat, 1, chroma)
    rc, gc, bc = (maxc - r) / div, (maxc - g) / div, (maxc - b) / div
    h = np.where(maxc == r, bc - gc, np.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    return np.mod(h / 6.0 + 1.0, 1.0), s, maxc


def _hsv_to_rgb(h, s, v) -> np.ndarray:
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int64) % 6
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    # sector i of the hue circle takes (r, g, b) from these
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    rgb = [np.select([i == k for k in range(6)], [row[c] for row in table]) for c in range(3)]
    return np.stack(rgb, axis=-3)


def adjust_hue(img, hue_factor: float):
    """Turn the hue by ``hue_factor`` of a full circle, in [-0.5, 0.5]."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"adjust_hue: hue_factor ({hue_factor}) is not in [-0.5, 0.5]")
    if is_pil(img):
        from PIL import Image

        if img.mode in ("L", "1", "I", "F"):
            return img
        h, s, v = img.convert("HSV").split()
        shifted = (np.asarray(h, np.int64) + int(hue_factor * 255)) % 256
        h = Image.fromarray(shifted.astype(np.uint8), "L")
        return Image.merge("HSV", (h, s, v)).convert(img.mode)
    a, pack = _planes(img, "adjust_hue")
    if a.shape[-3] == 1:
        return img
    x = a.astype(np.float32) / 255 if a.dtype == np.uint8 else a
    h, s, v = _rgb_to_hsv(x)
    out = _hsv_to_rgb(np.mod(h + hue_factor, 1.0), s, v).astype(x.dtype)
    if a.dtype == np.uint8:
        out = (out * 255.0).astype(np.uint8)
    return pack(out)


def _factor_range(value, name: str, center=1.0, bound=(0, float("inf"))) -> tuple | None:
    if value is None:
        return None
    if isinstance(value, Number):
        if value < 0:
            raise ValueError(f"ColorJitter: {name} must be non negative, got {value}")
        lo, hi = center - value, center + value
        lo = max(lo, 0.0) if center == 1.0 else lo
    else:
        if len(value) != 2:
            raise ValueError(f"ColorJitter: {name} should be a number or (min, max), got {value}")
        lo, hi = float(value[0]), float(value[1])
    if not bound[0] <= lo <= hi <= bound[1]:
        raise ValueError(f"ColorJitter: {name} values should be between {bound}, got {(lo, hi)}")
    return None if lo == hi == center else (lo, hi)


class ColorJitter:
    """Random brightness, contrast, saturation and hue, applied in a random order, each factor
    drawn uniformly from its range (a number ``v`` means (1 - v, 1 + v), for hue (-v, v))."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0) -> None:
        self.brightness = _factor_range(brightness, "brightness")
        self.contrast = _factor_range(contrast, "contrast")
        self.saturation = _factor_range(saturation, "saturation")
        self.hue = _factor_range(hue, "hue", center=0.0, bound=(-0.5, 0.5))

    def get_params(self) -> tuple:
        """``(order, brightness, contrast, saturation, hue)``: the order a permutation of 0-3,
        each factor a float or None where that jitter is off."""
        rng = current_rng()
        order = [int(i) for i in rng.permutation(4)]
        factors = [
            None if r is None else float(rng.uniform(*r))
            for r in (self.brightness, self.contrast, self.saturation, self.hue)
        ]
        return (order, *factors)

    def __call__(self, img):
        order, *factors = self.get_params()
        steps = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)
        for i in order:
            if factors[i] is not None:
                img = steps[i](img, factors[i])
        return img

    def __repr__(self) -> str:
        return (
            f"ColorJitter(brightness={self.brightness}, contrast={self.contrast}, "
            f"saturation={self.saturation}, hue={self.hue})"
        )

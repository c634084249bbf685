"""torchvision's geometric transforms: Resize, CenterCrop, RandomCrop, Pad and the flips,
on PIL Images and Tensors (..., C, H, W). Random ones draw from
``cnnlab.data.transforms.current_rng()`` (a DataLoader batch's generator, else cnnlab's
default generator, which ``cnnlab.manual_seed`` fixes)."""

from __future__ import annotations

import enum
import math
from numbers import Number

import numpy as np

from cnnlab.autograd import Tensor
from cnnlab.data.transforms import current_rng
from cnnlab.images import resize_matrix
from cnnlab.vision.transforms.conversion import is_pil

__all__ = [
    "CenterCrop",
    "InterpolationMode",
    "Pad",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "RandomVerticalFlip",
    "Resize",
]


class InterpolationMode(enum.Enum):
    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"


def _planes(img, name: str):
    """``(array (..., C, H, W), pack)``: ``pack(array)`` gives back an image of the input's kind."""
    from PIL import Image

    if is_pil(img):
        a = np.asarray(img)
        chw = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)

        def pack(x):
            x = x[0] if a.ndim == 2 else x.transpose(1, 2, 0)
            return Image.fromarray(np.ascontiguousarray(x), mode=img.mode)

        return chw, pack
    if isinstance(img, Tensor):
        return img.array, lambda x: Tensor(np.ascontiguousarray(x))
    raise TypeError(f"{name}: img should be PIL Image or Tensor. Got {type(img).__name__}")


def _size_pair(size, name: str) -> tuple:
    if isinstance(size, Number):
        return int(size), int(size)
    if len(size) == 1:
        return int(size[0]), int(size[0])
    if len(size) != 2:
        raise ValueError(f"{name}: please provide only two dimensions (h, w) for size, got {size}")
    return int(size[0]), int(size[1])


def _padding_ltrb(padding, name: str) -> tuple:
    if isinstance(padding, Number):
        p = int(padding)
        return p, p, p, p
    padding = [int(p) for p in padding]
    if len(padding) == 1:
        return (padding[0],) * 4
    if len(padding) == 2:
        return padding[0], padding[1], padding[0], padding[1]
    if len(padding) == 4:
        return tuple(padding)
    raise ValueError(
        f"{name}: padding must be an int or a 1, 2 or 4 element sequence, got {padding}"
    )


def _pad(a: np.ndarray, ltrb: tuple, fill, mode: str) -> np.ndarray:
    modes = {"constant": "constant", "edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}
    if mode not in modes:
        raise ValueError(
            f"Pad: padding_mode should be constant, edge, reflect or symmetric, got {mode!r}"
        )
    left, top, right, bottom = ltrb
    widths = [(0, 0)] * (a.ndim - 2) + [(top, bottom), (left, right)]
    if mode != "constant":
        return np.pad(a, widths, mode=modes[mode])
    fills = np.broadcast_to(np.asarray(fill, dtype=a.dtype).reshape(-1, 1, 1), (a.shape[-3], 1, 1))
    out = np.empty(a.shape[:-2] + (a.shape[-2] + top + bottom, a.shape[-1] + left + right), a.dtype)
    out[...] = fills
    out[..., top : top + a.shape[-2], left : left + a.shape[-1]] = a
    return out


class Pad:
    """Pad every side: ``padding`` an int, ``(left/right, top/bottom)`` or ``(left, top, right,
    bottom)``; ``padding_mode`` constant (with ``fill``), edge, reflect or symmetric."""

    def __init__(self, padding, fill=0, padding_mode: str = "constant") -> None:
        self.padding = padding
        self.ltrb = _padding_ltrb(padding, "Pad")
        self.fill, self.padding_mode = fill, padding_mode

    def __call__(self, img):
        a, pack = _planes(img, "Pad")
        return pack(_pad(a, self.ltrb, self.fill, self.padding_mode))

    def __repr__(self) -> str:
        return f"Pad(padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode})"


def resized_size(h: int, w: int, size, max_size=None) -> tuple:
    """torchvision's output size: an int matches the shorter side (the longer one scaled and
    truncated), a pair is ``(h, w)``; ``max_size`` caps the longer side."""
    if not isinstance(size, Number) and len(size) == 2:
        return int(size[0]), int(size[1])
    requested = int(size if isinstance(size, Number) else size[0])
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = requested, int(requested * long / short)
    if max_size is not None:
        if max_size <= requested:
            raise ValueError(
                f"Resize: max_size = {max_size} must be strictly greater than the requested size "
                f"for the smaller edge size = {size}"
            )
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if w <= h else (new_short, new_long)


class Resize:
    """Resize to ``size`` (see :func:`resized_size`). PIL Images go through PIL's own resize, as
    in torchvision; Tensors through antialiased bilinear (torch's ``interpolate(...,
    antialias=True)``) or nearest, uint8 Tensors rounded back to uint8."""

    def __init__(
        self, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True
    ):
        self.size, self.max_size, self.antialias = size, max_size, antialias
        self.interpolation = InterpolationMode(getattr(interpolation, "value", interpolation))

    def __call__(self, img):
        from PIL import Image

        a, pack = _planes(img, "Resize")
        h, w = a.shape[-2:]
        oh, ow = resized_size(h, w, self.size, self.max_size)
        if (oh, ow) == (h, w):
            return img
        if is_pil(img):
            resample = {
                "nearest": Image.NEAREST,
                "bilinear": Image.BILINEAR,
                "bicubic": Image.BICUBIC,
            }
            return img.resize((ow, oh), resample[self.interpolation.value])
        if self.interpolation is InterpolationMode.NEAREST:
            rows = np.minimum((np.arange(oh) * (h / oh)).astype(np.int64), h - 1)
            cols = np.minimum((np.arange(ow) * (w / ow)).astype(np.int64), w - 1)
            return pack(a[..., rows[:, None], cols])
        if self.interpolation is not InterpolationMode.BILINEAR:
            raise ValueError(f"Resize: Tensors take NEAREST or BILINEAR, got {self.interpolation}")
        x = a.astype(np.float32) if not np.issubdtype(a.dtype, np.floating) else a
        out = resize_matrix(h, oh).astype(x.dtype) @ x @ resize_matrix(w, ow).T.astype(x.dtype)
        if a.dtype == np.uint8:
            out = np.clip(np.round(out), 0, 255)
        return pack(out.astype(a.dtype))

    def __repr__(self) -> str:
        return (
            f"Resize(size={self.size}, interpolation={self.interpolation.value}, "
            f"max_size={self.max_size}, antialias={self.antialias})"
        )


class CenterCrop:
    """The centre ``size`` (an int or ``(h, w)``); an image smaller than that is first padded
    with zeros on both sides, as torchvision does."""

    def __init__(self, size) -> None:
        self.size = _size_pair(size, "CenterCrop")

    def __call__(self, img):
        a, pack = _planes(img, "CenterCrop")
        ch, cw = self.size
        h, w = a.shape[-2:]
        if ch > h or cw > w:
            ltrb = (
                (cw - w) // 2 if cw > w else 0,
                (ch - h) // 2 if ch > h else 0,
                (cw - w + 1) // 2 if cw > w else 0,
                (ch - h + 1) // 2 if ch > h else 0,
            )
            a = _pad(a, ltrb, 0, "constant")
            h, w = a.shape[-2:]
        top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
        return pack(a[..., top : top + ch, left : left + cw])

    def __repr__(self) -> str:
        return f"CenterCrop(size={self.size})"


class RandomCrop:
    """A random ``size`` window, after optional ``padding`` (as :class:`Pad`); with
    ``pad_if_needed`` a smaller image is first padded up to ``size``."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = _size_pair(size, "RandomCrop")
        self.padding, self.pad_if_needed = padding, pad_if_needed
        self.fill, self.padding_mode = fill, padding_mode

    def __call__(self, img):
        a, pack = _planes(img, "RandomCrop")
        if self.padding is not None:
            a = _pad(a, _padding_ltrb(self.padding, "RandomCrop"), self.fill, self.padding_mode)
        th, tw = self.size
        if self.pad_if_needed and a.shape[-1] < tw:
            d = tw - a.shape[-1]
            a = _pad(a, (d, 0, d, 0), self.fill, self.padding_mode)
        if self.pad_if_needed and a.shape[-2] < th:
            d = th - a.shape[-2]
            a = _pad(a, (0, d, 0, d), self.fill, self.padding_mode)
        h, w = a.shape[-2:]
        if h < th or w < tw:
            raise ValueError(
                f"RandomCrop: required crop size {(th, tw)} is larger than input image size "
                f"{(h, w)}"
            )
        rng = current_rng()
        i = int(rng.integers(0, h - th + 1))
        j = int(rng.integers(0, w - tw + 1))
        return pack(a[..., i : i + th, j : j + tw])

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror left-right with probability ``p``."""

    axis = -1

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img):
        a, pack = _planes(img, type(self).__name__)
        if current_rng().random() < self.p:
            return pack(np.flip(a, axis=self.axis))
        return img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror top-bottom with probability ``p``."""

    axis = -2


class RandomResizedCrop:
    """A random window of ``scale`` (fraction of the area) and aspect ``ratio``, resized to
    ``size``: torchvision's 10 tries, then its central-crop fallback."""

    def __init__(
        self,
        size,
        scale=(0.08, 1.0),
        ratio=(3.0 / 4.0, 4.0 / 3.0),
        interpolation=InterpolationMode.BILINEAR,
        antialias=True,
    ) -> None:
        self.size = _size_pair(size, "RandomResizedCrop")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError(
                f"RandomResizedCrop: scale and ratio should be (min, max), got {scale}, {ratio}"
            )
        self.scale, self.ratio = tuple(scale), tuple(ratio)
        self.resize = Resize(self.size, interpolation, antialias=antialias)

    def get_params(self, height: int, width: int) -> tuple:
        """``(top, left, h, w)`` of the window."""
        rng = current_rng()
        area = height * width
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target = area * rng.uniform(*self.scale)
            aspect = math.exp(rng.uniform(*log_ratio))
            w = int(round(math.sqrt(target * aspect)))
            h = int(round(math.sqrt(target / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return (
                    int(rng.integers(0, height - h + 1)),
                    int(rng.integers(0, width - w + 1)),
                    h,
                    w,
                )
        in_ratio = width / height
        if in_ratio < min(self.ratio):
            w, h = width, int(round(width / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            h, w = height, int(round(height * max(self.ratio)))
        else:
            h, w = height, width
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, img):
        a, pack = _planes(img, "RandomResizedCrop")
        i, j, h, w = self.get_params(*a.shape[-2:])
        return self.resize(pack(a[..., i : i + h, j : j + w]))

    def __repr__(self) -> str:
        return f"RandomResizedCrop(size={self.size}, scale={self.scale}, ratio={self.ratio})"

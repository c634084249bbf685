"""torchvision's other augmentations: the random wrappers (RandomApply, RandomChoice,
RandomOrder), RandomGrayscale, GaussianBlur, RandomErasing and ConvertImageDtype.

GaussianBlur convolves with a normalised 1-D Gaussian along each axis after reflect padding
of ``kernel_size // 2`` (torchvision's tensor path; PIL Images are blurred the same way and
rounded back to uint8). RandomErasing overwrites a random rectangle of a Tensor image.
"""

from __future__ import annotations

import math
from numbers import Number

import numpy as np

from cnnlab.autograd import Tensor
from cnnlab.data.transforms import current_rng
from cnnlab.vision.transforms.conversion import Grayscale, is_pil
from cnnlab.vision.transforms.geometry import _planes

__all__ = [
    "ConvertImageDtype",
    "GaussianBlur",
    "RandomApply",
    "RandomChoice",
    "RandomErasing",
    "RandomGrayscale",
    "RandomOrder",
    "gaussian_blur",
]


class RandomApply:
    """Apply all of ``transforms`` in turn with probability ``p``, else none."""

    def __init__(self, transforms, p: float = 0.5) -> None:
        self.transforms, self.p = list(transforms), p

    def __call__(self, img):
        if self.p < current_rng().random():
            return img
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        return f"RandomApply(p={self.p}, transforms={self.transforms})"


class RandomChoice:
    """Apply one of ``transforms``, drawn with probabilities ``p`` (default: equal)."""

    def __init__(self, transforms, p=None) -> None:
        self.transforms = list(transforms)
        if p is not None and len(p) != len(self.transforms):
            raise ValueError(
                f"RandomChoice: {len(self.transforms)} transforms but {len(p)} probabilities"
            )
        self.p = None if p is None else np.asarray(p, float) / float(np.sum(p))

    def __call__(self, img):
        i = int(current_rng().choice(len(self.transforms), p=self.p))
        return self.transforms[i](img)

    def __repr__(self) -> str:
        return f"RandomChoice(transforms={self.transforms})"


class RandomOrder:
    """Apply all of ``transforms`` in a random order."""

    def __init__(self, transforms) -> None:
        self.transforms = list(transforms)

    def __call__(self, img):
        for i in current_rng().permutation(len(self.transforms)):
            img = self.transforms[int(i)](img)
        return img

    def __repr__(self) -> str:
        return f"RandomOrder(transforms={self.transforms})"


class RandomGrayscale:
    """To grey with probability ``p``, keeping the number of channels (1 or 3)."""

    def __init__(self, p: float = 0.1) -> None:
        self.p = p

    def __call__(self, img):
        if current_rng().random() >= self.p:
            return img
        channels = len(img.getbands()) if is_pil(img) else img.shape[-3]
        return Grayscale(3 if channels == 3 else 1)(img)

    def __repr__(self) -> str:
        return f"RandomGrayscale(p={self.p})"


def _kernel(size: int, sigma: float, dtype) -> np.ndarray:
    x = np.linspace(-(size - 1) / 2, (size - 1) / 2, size)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).astype(dtype)


def gaussian_blur(img, kernel_size, sigma=None):
    """Blur with a Gaussian of ``kernel_size`` (odd ints, (x, y)) and ``sigma`` ((x, y);
    default ``0.3 * ((k - 1) * 0.5 - 1) + 0.8``, as torchvision)."""
    kx, ky = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    if kx % 2 == 0 or ky % 2 == 0 or kx <= 0 or ky <= 0:
        raise ValueError(
            f"gaussian_blur: kernel_size should be odd and positive, got {kernel_size}"
        )
    if sigma is None:
        sigma = [0.3 * ((k - 1) * 0.5 - 1) + 0.8 for k in (kx, ky)]
    sx, sy = (sigma, sigma) if isinstance(sigma, Number) else (sigma[0], sigma[-1])
    if sx <= 0 or sy <= 0:
        raise ValueError(f"gaussian_blur: sigma should be positive, got {sigma}")
    a, pack = _planes(img, "gaussian_blur")
    x = a if np.issubdtype(a.dtype, np.floating) else a.astype(np.float32)
    widths = [(0, 0)] * (x.ndim - 2) + [(ky // 2, ky // 2), (kx // 2, kx // 2)]
    p = np.pad(x, widths, mode="reflect")
    h, w = a.shape[-2:]
    # separable: rows with the y kernel, then columns with the x kernel
    k = _kernel(ky, sy, x.dtype)
    p = sum(k[i] * p[..., i : i + h, :] for i in range(ky))
    k = _kernel(kx, sx, x.dtype)
    out = sum(k[i] * p[..., :, i : i + w] for i in range(kx))
    if not np.issubdtype(a.dtype, np.floating):
        out = np.clip(np.round(out), np.iinfo(a.dtype).min, np.iinfo(a.dtype).max)
    return pack(out.astype(a.dtype))


class GaussianBlur:
    """Blur with ``kernel_size`` and a sigma drawn uniformly from ``sigma`` (min, max)."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0)) -> None:
        self.kernel_size = (
            (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        )
        if any(k <= 0 or k % 2 == 0 for k in self.kernel_size):
            raise ValueError(
                f"GaussianBlur: kernel size values should be odd and positive, got {kernel_size}"
            )
        self.sigma = (float(sigma), float(sigma)) if isinstance(sigma, Number) else tuple(sigma)
        if not 0 < self.sigma[0] <= self.sigma[1]:
            raise ValueError(f"GaussianBlur: sigma should be 0 < min <= max, got {sigma}")

    def __call__(self, img):
        s = float(current_rng().uniform(*self.sigma))
        return gaussian_blur(img, self.kernel_size, [s, s])

    def __repr__(self) -> str:
        return f"GaussianBlur(kernel_size={self.kernel_size}, sigma={self.sigma})"


class RandomErasing:
    """With probability ``p``, overwrite a rectangle of ``scale`` (fraction of the area) and
    aspect ``ratio`` with ``value`` (a number, one per channel, or ``'random'`` for standard
    normal noise) in a Tensor image (..., C, H, W); after 10 misses, nothing is erased."""

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False):
        if not 0 <= p <= 1:
            raise ValueError(f"RandomErasing: p should be in [0, 1], got {p}")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError(f"RandomErasing: scale and ratio should be (min, max), got {scale}")
        if isinstance(value, str) and value != "random":
            raise ValueError(f"RandomErasing: value should be a number or 'random', got {value!r}")
        self.p, self.scale, self.ratio = p, tuple(scale), tuple(ratio)
        self.value, self.inplace = value, inplace

    def get_params(self, c: int, h: int, w: int, dtype) -> tuple | None:
        """``(top, left, height, width, fill array)``, or None when no rectangle fits."""
        rng = current_rng()
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            area = h * w * rng.uniform(*self.scale)
            aspect = math.exp(rng.uniform(*log_ratio))
            eh, ew = int(round(math.sqrt(area * aspect))), int(round(math.sqrt(area / aspect)))
            if not (eh < h and ew < w):
                continue
            if self.value == "random":
                fill = rng.standard_normal((c, eh, ew)).astype(dtype)
            else:
                fill = np.asarray(self.value, dtype).reshape(-1, 1, 1)
            top, left = int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1))
            return top, left, eh, ew, fill
        return None

    def __call__(self, img):
        if not isinstance(img, Tensor):
            raise TypeError(
                f"RandomErasing: img should be a Tensor image, got {type(img).__name__}"
            )
        if current_rng().random() >= self.p:
            return img
        a = img.array
        params = self.get_params(a.shape[-3], a.shape[-2], a.shape[-1], a.dtype)
        if params is None:
            return img
        top, left, eh, ew, fill = params
        out = a if self.inplace else a.copy()
        out[..., top : top + eh, left : left + ew] = fill
        return img if self.inplace else Tensor(out)

    def __repr__(self) -> str:
        return (
            f"RandomErasing(p={self.p}, scale={self.scale}, ratio={self.ratio}, value={self.value})"
        )


class ConvertImageDtype:
    """Cast a Tensor image to ``dtype``, scaling values to the new type's range (uint8 255
    to float 1.0), as torchvision's ``ConvertImageDtype``."""

    def __init__(self, dtype) -> None:
        self.dtype = np.dtype(dtype)

    def __call__(self, image: Tensor) -> Tensor:
        a = image.array
        to_float = np.issubdtype(self.dtype, np.floating)
        if np.issubdtype(a.dtype, np.floating):
            if to_float:
                return Tensor(a.astype(self.dtype))
            top = np.iinfo(self.dtype).max
            return Tensor((a * (top + 1.0 - 0.001)).astype(self.dtype))
        if to_float:
            return Tensor(a.astype(self.dtype) / self.dtype.type(np.iinfo(a.dtype).max))
        if self.dtype == a.dtype:
            return image
        src, dst = np.iinfo(a.dtype).max, np.iinfo(self.dtype).max
        if src > dst:  # fewer bits: keep the high ones
            shift = int(math.log2(src + 1) - math.log2(dst + 1))
            return Tensor((a.astype(np.int64) >> shift).astype(self.dtype))
        factor = (dst + 1) // (src + 1)
        return Tensor((a.astype(np.int64) * factor).astype(self.dtype))

    def __repr__(self) -> str:
        return f"ConvertImageDtype(dtype={self.dtype.name})"

"""torchvision's conversion and colour transforms: ToTensor, PILToTensor, ToPILImage,
Normalize, Grayscale, Lambda, Compose. Images are PIL Images, NumPy arrays (H, W, C) for
``ToTensor``, or Tensors (..., C, H, W), as torchvision takes them."""

from __future__ import annotations

import numpy as np

from cnnlab import backend
from cnnlab.autograd import Tensor

__all__ = [
    "Compose",
    "Grayscale",
    "Lambda",
    "Normalize",
    "PILToTensor",
    "ToPILImage",
    "ToTensor",
    "is_pil",
]


def is_pil(img) -> bool:
    """Whether ``img`` is a PIL Image (checked without importing Pillow)."""
    return hasattr(img, "getbands") and hasattr(img, "mode") and hasattr(img, "size")


def _pil_array(img) -> np.ndarray:
    """A PIL image's pixels (H, W, C) in the dtype torchvision gives its mode."""
    dtypes = {"I": np.int32, "I;16": np.int16, "F": np.float32}
    a = np.array(img, dtype=dtypes.get(img.mode, np.uint8), copy=True)
    if img.mode == "1":
        a = 255 * a
    return a[:, :, None] if a.ndim == 2 else a


class Compose:
    """Apply ``transforms`` one after the other."""

    def __init__(self, transforms) -> None:
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({body}\n)"


class ToTensor:
    """PIL Image or ndarray (H, W, C) -> Tensor (C, H, W); uint8 pixels are scaled to floats in
    [0, 1] (the default dtype), other dtypes are kept as they are."""

    def __call__(self, pic) -> Tensor:
        if is_pil(pic):
            a = _pil_array(pic)
        elif isinstance(pic, np.ndarray):
            if pic.ndim not in (2, 3):
                raise ValueError(
                    f"ToTensor: pic should be 2/3 dimensional. Got {pic.ndim} dimensions."
                )
            a = pic[:, :, None] if pic.ndim == 2 else pic
        else:
            raise TypeError(
                f"ToTensor: pic should be PIL Image or ndarray. Got {type(pic).__name__}"
            )
        chw = np.ascontiguousarray(a.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            dtype = backend.get_default_dtype()
            return Tensor(chw.astype(dtype) / dtype.type(255))
        return Tensor(chw)

    def __repr__(self) -> str:
        return "ToTensor()"


class PILToTensor:
    """PIL Image -> Tensor (C, H, W) of its pixels, unscaled (uint8 for 8-bit modes)."""

    def __call__(self, pic) -> Tensor:
        if not is_pil(pic):
            raise TypeError(f"PILToTensor: pic should be PIL Image. Got {type(pic).__name__}")
        return Tensor(np.ascontiguousarray(_pil_array(pic).transpose(2, 0, 1)))

    def __repr__(self) -> str:
        return "PILToTensor()"


class ToPILImage:
    """Tensor (C, H, W) or ndarray (H, W, C) -> PIL Image; float values are taken as [0, 1]
    and become ``uint8(255 * x)`` (truncated, as torchvision's ``mul(255).byte()``)."""

    def __init__(self, mode: str | None = None) -> None:
        self.mode = mode

    def __call__(self, pic):
        from PIL import Image

        if isinstance(pic, Tensor):
            a = np.asarray(pic.array)
            if a.ndim == 2:
                a = a[None]
            if a.ndim != 3:
                raise ValueError(
                    f"ToPILImage: pic should be 2/3 dimensional. Got {a.ndim} dimensions."
                )
            if np.issubdtype(a.dtype, np.floating):
                a = (a * 255).astype(np.uint8)
            a = a.transpose(1, 2, 0)
        elif isinstance(pic, np.ndarray):
            a = pic[:, :, None] if pic.ndim == 2 else pic
        else:
            raise TypeError(
                f"ToPILImage: pic should be Tensor or ndarray. Got {type(pic).__name__}"
            )
        if a.shape[2] == 1:
            return Image.fromarray(np.ascontiguousarray(a[:, :, 0]), mode=self.mode)
        return Image.fromarray(np.ascontiguousarray(a), mode=self.mode)

    def __repr__(self) -> str:
        return f"ToPILImage(mode={self.mode})" if self.mode else "ToPILImage()"


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel of a float Tensor (..., C, H, W)."""

    def __init__(self, mean, std, inplace: bool = False) -> None:
        self.mean, self.std, self.inplace = mean, std, inplace

    def __call__(self, tensor: Tensor) -> Tensor:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"Normalize: img should be Tensor Image. Got {type(tensor).__name__}")
        a = tensor.array
        if not np.issubdtype(a.dtype, np.floating):
            raise TypeError(f"Normalize: input tensor should be a float tensor. Got {a.dtype}.")
        if a.ndim < 3:
            raise ValueError(
                f"Normalize: expected tensor to be a tensor image of size (..., C, H, W). Got "
                f"{tuple(a.shape)}."
            )
        mean = np.asarray(self.mean, dtype=a.dtype).reshape(-1, 1, 1)
        std = np.asarray(self.std, dtype=a.dtype).reshape(-1, 1, 1)
        if (std == 0).any():
            raise ValueError(
                f"Normalize: std evaluated to zero after conversion to {a.dtype}, leading to "
                "division by zero."
            )
        if self.inplace:
            a -= mean
            a /= std
            return tensor
        return Tensor((a - mean) / std)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class Grayscale:
    """To grey: PIL's ``convert('L')`` for PIL Images (ITU-R 601-2 luma, rounded), or
    ``0.2989 R + 0.587 G + 0.114 B`` for Tensors (cast back to their dtype); copied to
    ``num_output_channels`` (1 or 3) channels."""

    def __init__(self, num_output_channels: int = 1) -> None:
        if num_output_channels not in (1, 3):
            raise ValueError(
                f"Grayscale: num_output_channels should be either 1 or 3, got {num_output_channels}"
            )
        self.num_output_channels = num_output_channels

    def __call__(self, img):
        from PIL import Image

        n = self.num_output_channels
        if is_pil(img):
            grey = img.convert("L")
            if n == 1:
                return grey
            return Image.fromarray(np.dstack([np.asarray(grey, dtype=np.uint8)] * 3), "RGB")
        if not isinstance(img, Tensor):
            raise TypeError(
                f"Grayscale: img should be PIL Image or Tensor. Got {type(img).__name__}"
            )
        a = img.array
        if a.shape[-3] not in (1, 3):
            raise TypeError(
                f"Grayscale: input image tensor should have 1 or 3 channels, got {a.shape[-3]}"
            )
        if a.shape[-3] == 3:
            r, g, b = a[..., 0, :, :], a[..., 1, :, :], a[..., 2, :, :]
            grey = (0.2989 * r + 0.587 * g + 0.114 * b).astype(a.dtype)[..., None, :, :]
        else:
            grey = a.copy()
        return Tensor(np.ascontiguousarray(np.repeat(grey, n, axis=-3)))

    def __repr__(self) -> str:
        return f"Grayscale(num_output_channels={self.num_output_channels})"


class Lambda:
    """A user function as a transform."""

    def __init__(self, lambd) -> None:
        if not callable(lambd):
            raise TypeError(
                f"Lambda: argument lambd should be callable, got {type(lambd).__name__}"
            )
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return "Lambda()"

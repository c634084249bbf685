"""``torchvision.transforms.v2`` under cnnlab: the transforms cnnlab has, under the same names
(v2's ``Compose``, ``Resize``, ``RandomResizedCrop``, ``ColorJitter`` ... take and give what
v1's do), plus v2's ``ToImage`` and ``ToDtype``. Images are plain Tensors: there are no
``tv_tensors`` wrappers, and a transform is given the image alone, not an (image, label) pair.
"""

from __future__ import annotations

import numpy as np

from cnnlab.autograd import Tensor
from cnnlab.vision.transforms import (
    CenterCrop,
    ColorJitter,
    Compose,
    GaussianBlur,
    Grayscale,
    InterpolationMode,
    Lambda,
    Normalize,
    Pad,
    PILToTensor,
    RandomAffine,
    RandomApply,
    RandomChoice,
    RandomCrop,
    RandomErasing,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomOrder,
    RandomResizedCrop,
    RandomRotation,
    RandomVerticalFlip,
    Resize,
    ToPILImage,
    ToTensor,
)
from cnnlab.vision.transforms.conversion import _pil_array, is_pil
from cnnlab.vision.transforms.v2 import functional

__all__ = [
    "CenterCrop",
    "ColorJitter",
    "Compose",
    "GaussianBlur",
    "Grayscale",
    "InterpolationMode",
    "Lambda",
    "Normalize",
    "PILToTensor",
    "Pad",
    "RandomAffine",
    "RandomApply",
    "RandomChoice",
    "RandomCrop",
    "RandomErasing",
    "RandomGrayscale",
    "RandomHorizontalFlip",
    "RandomOrder",
    "RandomResizedCrop",
    "RandomRotation",
    "RandomVerticalFlip",
    "Resize",
    "ToDtype",
    "ToImage",
    "ToPILImage",
    "ToTensor",
    "functional",
]


class ToImage:
    """PIL Image, ndarray (H, W, C) or Tensor -> Tensor (C, H, W) of the same values, unscaled
    (uint8 stays uint8): v2's first step before ``ToDtype(float32, scale=True)``."""

    def __call__(self, pic) -> Tensor:
        if isinstance(pic, Tensor):
            return pic
        if is_pil(pic):
            a = _pil_array(pic)
        elif isinstance(pic, np.ndarray):
            a = pic[:, :, None] if pic.ndim == 2 else pic
        else:
            raise TypeError(
                f"ToImage: expected a PIL Image, ndarray or Tensor, got {type(pic).__name__}"
            )
        return Tensor(np.ascontiguousarray(a.transpose(2, 0, 1)))

    def __repr__(self) -> str:
        return "ToImage()"


class ToDtype:
    """Cast to ``dtype``; with ``scale=True`` integer pixels map to floats in [0, 1] (uint8:
    divided by 255) and floats to the integer type's range, as v2's ``ToDtype``."""

    def __init__(self, dtype, scale: bool = False) -> None:
        if isinstance(dtype, dict):  # {tv_tensors.Image: float32, "others": None}
            dtype = next((d for d in dtype.values() if d is not None), None)
        self.dtype, self.scale = np.dtype(dtype), scale

    def __call__(self, img):
        if not isinstance(img, Tensor):
            return img
        a = img.array
        out_float = np.issubdtype(self.dtype, np.floating)
        if self.scale and np.issubdtype(a.dtype, np.integer) and out_float:
            top = np.iinfo(a.dtype).max
            return Tensor(a.astype(self.dtype) / self.dtype.type(top))
        if self.scale and np.issubdtype(a.dtype, np.floating) and not out_float:
            top = np.iinfo(self.dtype).max
            return Tensor((a * (top + 1.0 - 0.001)).astype(self.dtype))
        return Tensor(a.astype(self.dtype))

    def __repr__(self) -> str:
        return f"ToDtype(dtype={self.dtype.name}, scale={self.scale})"

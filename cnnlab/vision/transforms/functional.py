"""``torchvision.transforms.functional``: the deterministic transforms as functions
(``TF.to_tensor(img)``, ``TF.normalize(t, mean, std)``, ``TF.hflip(img)`` ...), each the
transform class of the same job applied once."""

from __future__ import annotations

import numpy as np

from cnnlab.vision.transforms.affine import affine, rotate
from cnnlab.vision.transforms.augment import ConvertImageDtype, gaussian_blur
from cnnlab.vision.transforms.color import (
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
)
from cnnlab.vision.transforms.conversion import (
    Grayscale,
    Normalize,
    PILToTensor,
    ToPILImage,
    ToTensor,
)
from cnnlab.vision.transforms.geometry import (
    CenterCrop,
    InterpolationMode,
    Pad,
    Resize,
    _planes,
)

__all__ = [
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "affine",
    "center_crop",
    "convert_image_dtype",
    "crop",
    "gaussian_blur",
    "hflip",
    "normalize",
    "pad",
    "pil_to_tensor",
    "resize",
    "resized_crop",
    "rgb_to_grayscale",
    "rotate",
    "to_grayscale",
    "to_pil_image",
    "to_tensor",
    "vflip",
]


def to_tensor(pic):
    return ToTensor()(pic)


def pil_to_tensor(pic):
    return PILToTensor()(pic)


def to_pil_image(pic, mode=None):
    return ToPILImage(mode)(pic)


def normalize(tensor, mean, std, inplace: bool = False):
    return Normalize(mean, std, inplace)(tensor)


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True):
    return Resize(size, interpolation, max_size, antialias)(img)


def center_crop(img, output_size):
    return CenterCrop(output_size)(img)


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    return Pad(padding, fill, padding_mode)(img)


def crop(img, top: int, left: int, height: int, width: int):
    """The window of ``height`` x ``width`` at (``top``, ``left``); parts outside the image are
    zeros, as in torchvision."""
    a, pack = _planes(img, "crop")
    h, w = a.shape[-2:]
    ltrb = (max(0, -left), max(0, -top), max(0, left + width - w), max(0, top + height - h))
    if any(ltrb):
        a = np.pad(a, [(0, 0)] * (a.ndim - 2) + [(ltrb[1], ltrb[3]), (ltrb[0], ltrb[2])])
        top, left = top + ltrb[1], left + ltrb[0]
    return pack(a[..., top : top + height, left : left + width])


def resized_crop(
    img, top, left, height, width, size, interpolation=InterpolationMode.BILINEAR, antialias=True
):
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def hflip(img):
    a, pack = _planes(img, "hflip")
    return pack(np.flip(a, axis=-1))


def vflip(img):
    a, pack = _planes(img, "vflip")
    return pack(np.flip(a, axis=-2))


def rgb_to_grayscale(img, num_output_channels: int = 1):
    return Grayscale(num_output_channels)(img)


to_grayscale = rgb_to_grayscale


def convert_image_dtype(image, dtype=np.float32):
    return ConvertImageDtype(dtype)(image)

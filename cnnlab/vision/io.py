"""``torchvision.io``'s image functions: ``read_image``/``decode_image`` give the file's
pixels as a uint8 Tensor (C, H, W) (uint16 for 16-bit PNGs), ``ImageReadMode`` picks the
channels, ``write_png``/``write_jpeg`` write such a Tensor back. The official data-loading
tutorial's custom Dataset reads its images this way.

Files are opened as every cnnlab command opens them (:mod:`cnnlab.images`: one image of more
than ``cnnlab.images.MAX_PIXELS`` pixels is refused from its header); the pixels are
Pillow's. Against torchvision 0.29.1: equal for RGB, RGBA, grey, palette (UNCHANGED gives the
indices) and 16-bit PNGs and for JPEGs, except GRAY of a colour PNG (Pillow's luma, within
one level of libpng's) and a palette image read as RGB_ALPHA or GRAY_ALPHA (torchvision
interleaves those channels wrongly; cnnlab gives the colours and an opaque alpha).
"""

from __future__ import annotations

import enum
import io
import os

import numpy as np

from cnnlab.autograd import Tensor
from cnnlab.images import _open as _open_checked

__all__ = ["ImageReadMode", "decode_image", "read_file", "read_image", "write_jpeg", "write_png"]


class ImageReadMode(enum.Enum):
    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = 4


_PIL_MODES = {
    ImageReadMode.GRAY: "L",
    ImageReadMode.GRAY_ALPHA: "LA",
    ImageReadMode.RGB: "RGB",
    ImageReadMode.RGB_ALPHA: "RGBA",
}


def _mode(mode) -> ImageReadMode:
    if isinstance(mode, str):
        return ImageReadMode[mode.upper()]
    return ImageReadMode(getattr(mode, "value", mode))


def _pixels(im, mode: ImageReadMode) -> np.ndarray:
    if im.mode.startswith("I;16") or im.mode == "I":  # 16-bit grey stays 16-bit, as torchvision
        grey = np.asarray(im, dtype=np.uint16)[None]
        opaque = np.full_like(grey, 65535)
        parts = {
            ImageReadMode.UNCHANGED: [grey],
            ImageReadMode.GRAY: [grey],
            ImageReadMode.GRAY_ALPHA: [grey, opaque],
            ImageReadMode.RGB: [grey] * 3,
            ImageReadMode.RGB_ALPHA: [grey] * 3 + [opaque],
        }[mode]
        return np.concatenate(parts)
    if mode is ImageReadMode.UNCHANGED:
        if im.mode in ("1", "CMYK", "YCbCr", "LAB", "HSV"):
            im = im.convert("L" if im.mode == "1" else "RGB")
        # a palette image gives its indices, one channel, as torchvision's does
    else:
        im = im.convert(_PIL_MODES[mode])
    a = np.asarray(im, dtype=np.uint8)
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def decode_image(input, mode=ImageReadMode.UNCHANGED, apply_exif_orientation: bool = False):
    """The image in ``input`` (a uint8 Tensor of the file's bytes, bytes, or a path) as a
    Tensor (C, H, W): uint8, or uint16 for 16-bit images read UNCHANGED."""
    from PIL import ImageOps

    if isinstance(input, Tensor):
        input = np.asarray(input.array, dtype=np.uint8).tobytes()
    source = bytes(input) if isinstance(input, (bytes, bytearray)) else input
    im = _open_checked(source)  # its size checked before it is decoded
    if _mode(mode) is ImageReadMode.GRAY and im.format == "JPEG" and im.mode != "L":
        from PIL import Image

        # decoded again straight to luma (the JPEG's own Y), as libjpeg gives torchvision
        im = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        im.draft("L", im.size)
    if apply_exif_orientation:
        im = ImageOps.exif_transpose(im)
    return Tensor(np.ascontiguousarray(_pixels(im, _mode(mode))))


def read_image(path, mode=ImageReadMode.UNCHANGED, apply_exif_orientation: bool = False):
    """The image file at ``path`` as a uint8 Tensor (C, H, W): see :func:`decode_image`."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"read_image: no such file {path}")
    return decode_image(os.fspath(path), mode, apply_exif_orientation)


def read_file(path) -> Tensor:
    """The bytes of the file at ``path`` as a uint8 Tensor (1-D)."""
    with open(path, "rb") as f:
        return Tensor(np.frombuffer(f.read(), dtype=np.uint8).copy())


def _encode(tensor, fmt: str, **options) -> bytes:
    from PIL import Image

    a = np.asarray(getattr(tensor, "array", tensor))
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[0] not in (1, 3):
        raise ValueError(
            f"write_{fmt.lower()}: expected a uint8 Tensor (C, H, W) with 1 or 3 channels, got "
            f"{a.dtype} {tuple(a.shape)}"
        )
    im = Image.fromarray(a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0))
    buf = io.BytesIO()
    im.save(buf, format=fmt, **options)
    return buf.getvalue()


def write_png(input, filename, compression_level: int = 6) -> None:
    """Write a uint8 Tensor (C, H, W) as a PNG file."""
    with open(filename, "wb") as f:
        f.write(_encode(input, "PNG", compress_level=compression_level))


def write_jpeg(input, filename, quality: int = 75) -> None:
    """Write a uint8 Tensor (C, H, W) as a JPEG file."""
    with open(filename, "wb") as f:
        f.write(_encode(input, "JPEG", quality=quality))

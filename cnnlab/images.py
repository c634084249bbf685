"""The one image pipeline: any image file to a float ``(C, H, W)`` array in [0, 1].

Every command that reads a picture (``predict``, ``explain``, ``attack``, ``ImageFolder``)
goes through :func:`load_image`, so one file always gives the same input. The rule, in
torchvision's terms, is ``Resize(max(H, W), antialias=True)`` then ``CenterCrop((H, W))``:

1. **Open** a path, bytes, a file object or a PIL image; apply the EXIF orientation. A file
   of more than :data:`MAX_PIXELS` pixels is refused from its header, before it is decoded
   (a 20000 x 20000 PNG is 390 kB on disk and gigabytes decoded); reading one needs about
   16 (RGB) to 24 (RGBA to grey) bytes per pixel at its peak: float32 colour and its
   grey or composited copy (measured on 4096 x 4096 files: 259 and 387 MB).
2. **Colour**: every mode (1-bit, grey, 16-bit grey, float, palette, RGB, RGBA, CMYK ...)
   becomes float RGB or grey in [0, 1]. 16-bit (and 32-bit integer ``I``) images are scaled
   by 1/65535, not clipped; float images are clipped to [0, 1];
   transparency is composited onto ``background`` (white by default); grey from colour is
   ITU-R 601 luma ``0.299 R + 0.587 G + 0.114 B``, as PIL and torchvision's ``Grayscale``.
3. **Resize** the shorter side to ``max(H, W)`` (``resize=`` to choose another length, e.g.
   256 for a 224 crop), the longer side in proportion (truncated, as torchvision), with
   bilinear interpolation antialiased when shrinking, computed in float per channel.
4. **Centre-crop** ``(H, W)``: top ``round((h - H) / 2)``, left ``round((w - W) / 2)``.
"""

from __future__ import annotations

import io
import os
import warnings

import numpy as np

__all__ = [
    "MAX_PIXELS",
    "center_crop",
    "load_image",
    "read_image",
    "resize_matrix",
    "resize_shorter",
]

MAX_PIXELS = 40_000_000  # 40 megapixels: a 7300 x 5500 photo; at most about 1 GB to read

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _open(source):
    from PIL import Image

    if hasattr(source, "convert") and hasattr(source, "mode"):  # already a PIL image
        return source.copy()
    name = os.fspath(source) if isinstance(source, (str, os.PathLike)) else "the image"
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    try:
        with warnings.catch_warnings():  # our own limit below is lower than PIL's warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(source)
    except Image.DecompressionBombError as e:  # PIL's own ceiling, far above ours
        raise ValueError(f"cannot read image {name}: {e}") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise ValueError(f"cannot read image {name}: {e}") from None
    try:
        w, h = im.size
        if w * h > MAX_PIXELS:
            raise ValueError(
                f"image {name} is {w}x{h} = {w * h / 1e6:.0f} megapixels, more than the "
                f"{MAX_PIXELS / 1e6:.0f} read at most (cnnlab.images.MAX_PIXELS); shrink it first"
            )
        im.load()
        if getattr(im, "n_frames", 1) == 1:
            return im  # loaded, its file closed: no second copy of its pixels
        first = im.copy()  # the first frame of an animation, detached from its file
        im.close()
        return first
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        im.close()
        msg = str(e) if str(e).startswith(f"image {name} ") else f"cannot read image {name}: {e}"
        raise ValueError(msg) from None


def read_image(source, channels: int = 3, background: float = 1.0) -> np.ndarray:
    """An image (path, bytes, file object or PIL image) as float32 ``(H, W, channels)`` in
    [0, 1], in its own size, with the colour rules of the module docstring.

    Shape:
        ``(H, W, 1)`` for ``channels=1``, ``(H, W, 3)`` for ``channels=3``.
    """
    from PIL import ImageOps

    if channels not in (1, 3):
        raise ValueError(f"read_image: channels must be 1 or 3, got {channels}")
    im = _open(source)
    if im.getexif().get(0x0112, 1) != 1:  # EXIF orientation: turned (a copy) only if needed
        im = ImageOps.exif_transpose(im)
    mode = im.mode
    if mode.startswith("I;16") or mode == "I":
        a = np.asarray(im, dtype=np.float32) / 65535.0  # 16-bit grey (mode I: 16-bit range)
        rgb, alpha = np.repeat(a[..., None], 3, axis=-1), None
    elif mode == "F":
        a = np.asarray(im, dtype=np.float32)
        rgb, alpha = np.repeat(a[..., None], 3, axis=-1), None
    else:
        if mode == "P":
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        elif mode not in ("L", "RGB", "RGBA", "LA"):
            im = im.convert("RGBA" if "A" in mode or "transparency" in im.info else "RGB")
        has_alpha = im.mode in ("RGBA", "LA")
        pixels = np.asarray(im)
        del im  # one copy of the 8-bit pixels, then their floats (once: scaled in place)
        a = pixels.astype(np.float32)
        del pixels
        a /= 255.0
        if a.ndim == 2:
            a = a[..., None]
        alpha = a[..., -1:] if has_alpha else None
        colour = a[..., :-1] if alpha is not None else a
        rgb = np.repeat(colour, 3, axis=-1) if colour.shape[-1] == 1 else colour
        if channels == 1 and colour.shape[-1] == 1:
            rgb = colour  # grey stays grey exactly
    if alpha is not None:
        if rgb is colour:  # composite in place: the floats of the image exist once
            rgb *= alpha
            behind = 1.0 - alpha
            behind *= np.float32(background)  # the same products as background * (1 - alpha)
            rgb += behind
        else:
            rgb = rgb * alpha + np.float32(background) * (1.0 - alpha)
    if channels == 1 and rgb.shape[-1] == 3:
        rgb = (rgb @ _LUMA)[..., None]
    elif channels == 3 and rgb.shape[-1] == 1:
        rgb = np.repeat(rgb, 3, axis=-1)
    rgb = rgb.astype(np.float32, copy=False)
    if not rgb.flags.writeable:  # a view of PIL's buffer (mode F): clip a copy
        rgb = rgb.copy()
    return np.clip(rgb, 0.0, 1.0, out=rgb)


def resize_shorter(image: np.ndarray, size: int) -> np.ndarray:
    """Resize ``(H, W, C)`` so that its shorter side is ``size`` (bilinear, antialiased),
    the longer side ``int(size * long / short)``, as torchvision's ``Resize(size)``.

    Shape:
        ``(H, W, C)`` -> ``(H', W', C)`` with ``min(H', W') == size``.
    """
    from PIL import Image

    h, w = image.shape[:2]
    if size < 1:
        raise ValueError(f"resize_shorter: size must be at least 1, got {size}")
    if h <= w:
        nh, nw = size, int(size * w / h)
    else:
        nh, nw = int(size * h / w), size
    if (nh, nw) == (h, w):
        return image
    planes = [
        np.asarray(Image.fromarray(image[..., c], mode="F").resize((nw, nh), Image.BILINEAR))
        for c in range(image.shape[2])
    ]
    return np.stack(planes, axis=-1).astype(np.float32)


def resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """The linear map of :func:`resize_shorter`'s bilinear, antialiased resize along one axis,
    as a matrix: ``R @ v`` resizes a length-``n_in`` signal to ``n_out``, so a batch
    ``(N, C, H, W)`` resizes as ``R_h @ x @ R_w.T`` (differentiable, as models need). It is
    read off the same PIL resize by resizing the identity, so both paths agree.

    Shape:
        ``(n_out, n_in)``.
    """
    from PIL import Image

    if n_in < 1 or n_out < 1:
        raise ValueError(f"resize_matrix: sizes must be at least 1, got {n_in} -> {n_out}")
    eye = np.eye(n_in, dtype=np.float32)  # row i: the i-th unit signal along the width
    out = np.asarray(Image.fromarray(eye, mode="F").resize((n_out, n_in), Image.BILINEAR))
    return np.ascontiguousarray(out.T, dtype=np.float32)


def center_crop(image: np.ndarray, size: tuple) -> np.ndarray:
    """The centre ``(H, W)`` of an ``(h, w, C)`` image, as torchvision's ``CenterCrop``.

    Shape:
        ``(h, w, C)`` -> ``(H, W, C)``; ``h >= H`` and ``w >= W`` are required.
    """
    h, w = image.shape[:2]
    ch, cw = int(size[0]), int(size[1])
    if ch > h or cw > w:
        raise ValueError(f"center_crop: crop {(ch, cw)} is larger than the image {(h, w)}")
    top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
    return image[top : top + ch, left : left + cw]


def load_image(
    source, size: tuple, channels: int = 3, resize: int | None = None, background: float = 1.0
) -> np.ndarray:
    """An image file (or bytes, file object, PIL image) as a model input: float32
    ``(channels, H, W)`` in [0, 1] by the rule of the module docstring.

    Args:
        source: path, bytes, file object or PIL image.
        size: ``(H, W)`` of the result (an int for a square).
        channels: 1 (grey) or 3 (RGB).
        resize: the shorter side before cropping; default ``max(H, W)``.
        background: the grey level that transparent pixels are composited onto.

    Shape:
        ``(channels, H, W)``.
    """
    h, w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    resize = max(h, w) if resize is None else int(resize)
    img = read_image(source, channels, background)
    img = center_crop(resize_shorter(img, resize), (h, w))
    return np.ascontiguousarray(img.transpose(2, 0, 1))

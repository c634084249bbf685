"""Pictures in and out of the JSON API: uploads (data URLs or raw bytes) checked before they
are decoded, and arrays in [0, 1] as PNG data URLs."""

from __future__ import annotations

import base64
import io

import numpy as np

__all__ = [
    "BadInput",
    "MAX_ASPECT",
    "MAX_BYTES",
    "MAX_PIXELS",
    "check_image_bytes",
    "decode",
    "png_url",
]

MAX_BYTES = 8 * 1024 * 1024  # an upload, after base64 decoding
MAX_PIXELS = 4096 * 4096
MAX_ASPECT = 20  # longer side / shorter side: resizing the shorter side must stay bounded


class BadInput(ValueError):
    """A request the server cannot serve (bad image, unknown layer or class): HTTP 400."""


def decode(data) -> bytes:
    """The bytes of an upload: raw bytes, or a (data-URL) base64 string."""
    if isinstance(data, (bytes, bytearray)):
        raw = bytes(data)
    elif isinstance(data, str):
        text = data.split(",", 1)[1] if data.startswith("data:") else data
        try:
            raw = base64.b64decode(text, validate=True)
        except ValueError:
            raise BadInput("image: not base64 (send a data URL or a file upload)") from None
    else:
        raise BadInput(f"image: expected a data URL or a file, got {type(data).__name__}")
    if not raw:
        raise BadInput("image: the upload is empty")
    if len(raw) > MAX_BYTES:
        raise BadInput(f"image: {len(raw)} bytes is too large (at most {MAX_BYTES})")
    return raw


def check_image_bytes(raw: bytes) -> tuple[int, int]:
    """``(width, height)`` of an encoded image, read from its header; refuses what is not an
    image, has more than :data:`MAX_PIXELS` pixels or sides further apart than
    :data:`MAX_ASPECT` (the resize to the model's size would be huge) before decoding."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(raw)) as im:
            w, h = im.size
    except Exception as e:  # PIL raises several types for a non-image
        raise BadInput(f"image: not an image file PIL can read ({type(e).__name__})") from None
    if w * h > MAX_PIXELS:
        raise BadInput(f"image: {w}x{h} pixels is too large (at most {MAX_PIXELS} pixels)")
    if max(w, h) > MAX_ASPECT * min(w, h):
        raise BadInput(f"image: {w}x{h} is too elongated (sides at most {MAX_ASPECT}:1)")
    return w, h


def png_url(a: np.ndarray) -> str:
    """An image in [0, 1] (``(H, W)``, ``(H, W, 3)``, or ``(C, H, W)`` with C 1 or 3) as a
    ``data:image/png;base64,...`` URL (8 bits per channel)."""
    from PIL import Image

    a = np.asarray(a, np.float32)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
        a = a.transpose(1, 2, 0)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    img = Image.fromarray(np.round(np.clip(a, 0, 1) * 255).astype(np.uint8))
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")

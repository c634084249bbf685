"""What every oneDNN kernel does with its NumPy arguments: check them, read their memory
format from their strides, describe them.

An image is an ordinary NumPy array of NCHW shape. Its strides say how it lies in memory:
C-contiguous is NCHW, and ``x.transpose(0, 2, 3, 1)`` C-contiguous is NHWC (channels last,
PyTorch's ``channels_last``). A kernel tells oneDNN which of the two it got (``tag``) and
writes its result as an array of the layout it chose, so NumPy and every other kernel read
the result unchanged.
"""

from __future__ import annotations

import numpy as np

from cnnlab.kernels.onednn import constants as k

__all__ = ["as_f32", "describe", "empty", "flat", "image", "is_nhwc", "tag", "like"]


def _f32(a, name: str, what: str) -> None:
    if not isinstance(a, np.ndarray) or a.dtype != np.float32:
        kind = a.dtype if isinstance(a, np.ndarray) else type(a).__name__
        raise TypeError(f"oneDNN {what}: {name} must be a float32 ndarray, got {kind}")


def as_f32(a: np.ndarray, name: str, what: str) -> np.ndarray:
    """``a`` as a C-contiguous float32 array (a copy only if it is not one already)."""
    _f32(a, name, what)
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def is_nhwc(a) -> bool:
    """Whether the 4-D array ``a`` lies in memory as NHWC (channels last) and not also as
    NCHW (one channel, or one pixel, is both: it counts as NCHW)."""
    if a.ndim != 4 or a.flags.c_contiguous:
        return False
    return a.transpose(0, 2, 3, 1).flags.c_contiguous


def tag(a) -> int:
    """The oneDNN format tag of an array :func:`image` returned: NHWC or NCHW."""
    return k.TAG_NHWC if is_nhwc(a) else k.TAG_NCHW


def image(a, name: str, what: str) -> np.ndarray:
    """A kernel's image argument: a float32 NCHW- or NHWC-strided array as it is, anything
    else as a C-contiguous (NCHW) copy (``name`` and ``what`` go into the error)."""
    _f32(a, name, what)
    return a if a.flags.c_contiguous or is_nhwc(a) else np.ascontiguousarray(a)


def empty(shape, layout: int) -> np.ndarray:
    """A new float32 array of NCHW ``shape`` lying in memory as ``layout`` (NCHW or NHWC)."""
    if layout == k.TAG_NHWC:
        n, c, h, w = shape
        return np.empty((n, h, w, c), np.float32).transpose(0, 3, 1, 2)
    return np.empty(shape, np.float32)


def like(a: np.ndarray, layout: int, name: str = "a", what: str = "like") -> np.ndarray:
    """``a`` (a float32 array of any strides) in ``layout``: itself, or one copy into it
    (a broadcast or sliced view is not first made C-contiguous, then reordered)."""
    _f32(a, name, what)
    if (a.flags.c_contiguous or is_nhwc(a)) and tag(a) == layout:
        return a
    out = empty(a.shape, layout)
    out[...] = a
    return out


def flat(a: np.ndarray) -> np.ndarray:
    """The 1-D view of the memory of ``a`` (C-contiguous or NHWC), in memory order."""
    return (a.transpose(0, 2, 3, 1) if is_nhwc(a) else a).reshape(-1)


def describe(**shapes) -> str:
    """``"x (2, 3, 8, 8), w (4, 3, 3, 3)"`` for error messages."""
    return ", ".join(f"{n} {tuple(v) if v is not None else None}" for n, v in shapes.items())

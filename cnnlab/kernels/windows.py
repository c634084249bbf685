"""Sliding windows shared by every backend's convolution and pooling: output sizes, the
zero-copy window view, col2im (its adjoint) and padding.

No per-pixel Python loops: windows are strided views, and col2im adds back one kernel
offset at a time (``KH * KW`` vectorised slice additions).
"""

from __future__ import annotations

import math

from cnnlab.backend import get_array_module

__all__ = ["col2im", "out_size", "pad", "pair", "windows"]


def pair(v, name: str = "value") -> tuple:
    """``3 -> (3, 3)``; ``(3, 5) -> (3, 5)``."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def out_size(
    size: int,
    kernel: int,
    stride: int,
    pad_lo: int,
    pad_hi: int,
    dilation: int,
    ceil_mode: bool = False,
) -> int:
    """Output length of a sliding window (PyTorch's formula, including ceil_mode's rule that
    the last window must start inside the input or the left padding)."""
    span = dilation * (kernel - 1) + 1
    num = size + pad_lo + pad_hi - span
    if ceil_mode:
        n = math.ceil(num / stride) + 1
        if (n - 1) * stride >= size + pad_lo:
            n -= 1
        return n
    return num // stride + 1


def out_hw(
    x_shape: tuple,
    kernel: tuple,
    stride: tuple,
    padding: tuple,
    dilation: tuple,
    ceil_mode: bool = False,
) -> tuple:
    """``(OH, OW)`` of a window op on NCHW ``x_shape``; padding (top, bottom, left, right)."""
    h, w = x_shape[2:]
    t, b, l, r = padding
    return (
        out_size(h, kernel[0], stride[0], t, b, dilation[0], ceil_mode),
        out_size(w, kernel[1], stride[1], l, r, dilation[1], ceil_mode),
    )


def pad(x, padding: tuple, value=0.0, extent: tuple | None = None):
    """``x`` placed at offset (top, left) of a plane filled with ``value``: ``padding`` is
    (top, bottom, left, right); ``extent`` (Hp, Wp) overrides the padded size (ceil_mode's
    windows can reach past the bottom/right padding)."""
    xp = get_array_module(x)
    n, c, h, w = x.shape
    t, b, l, r = padding
    hp, wp = extent if extent is not None else (h + t + b, w + l + r)
    if (hp, wp) == (h, w) and not (t or l):
        return x
    out = xp.full((n, c, hp, wp), value, dtype=x.dtype)
    out[:, :, t : t + h, l : l + w] = x[:, :, : hp - t, : wp - l]
    return out


def windows(x, kernel: tuple, stride: tuple, dilation: tuple, out_hw: tuple):
    """Zero-copy view of shape ``(N, C, OH, OW, KH, KW)`` over an (already padded) NCHW x."""
    xp = get_array_module(x)
    n, c, _, _ = x.shape
    sn, sc, sh, sw = x.strides
    kh, kw = kernel
    oh, ow = out_hw
    return xp.lib.stride_tricks.as_strided(
        x,
        shape=(n, c, oh, ow, kh, kw),
        strides=(sn, sc, sh * stride[0], sw * stride[1], sh * dilation[0], sw * dilation[1]),
        writeable=False,
    )


def col2im(cols, padded_shape: tuple, stride: tuple, dilation: tuple):
    """Adjoint of :func:`windows`: add ``cols`` (N, C, OH, OW, KH, KW) back into an array of
    ``padded_shape``, one kernel offset at a time, so overlapping windows add."""
    xp = get_array_module(cols)
    n, c, oh, ow, kh, kw = cols.shape
    out = xp.zeros(padded_shape, dtype=cols.dtype)
    sh, sw = stride
    dh, dw = dilation
    for i in range(kh):
        hi = i * dh
        for j in range(kw):
            wj = j * dw
            out[:, :, hi : hi + sh * (oh - 1) + 1 : sh, wj : wj + sw * (ow - 1) + 1 : sw] += cols[
                :, :, :, :, i, j
            ]
    return out

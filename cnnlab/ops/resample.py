"""Tap tables of kernel interpolation along one axis (cubic, and antialiased linear or cubic
downsampling), for :class:`cnnlab.ops.misc.Interpolate`.

Output position ``o`` reads the input at the real coordinate ``x[o]`` as a weighted sum of
the inputs ``t`` near it::

    y[o] = sum_t K(stretch * (t - x[o])) * in[t] / sum_t K(stretch * (t - x[o]))

``K`` is the triangle ``max(0, 1 - |d|)`` (support 1) or Keys' cubic convolution kernel with
coefficient ``a`` (support 2; PyTorch's bicubic uses ``a = -0.75``, its antialiased bicubic
and PIL ``a = -0.5``)::

    K(d) = (a + 2)|d|^3 - (a + 3)|d|^2 + 1          |d| <= 1
         = a|d|^3 - 5a|d|^2 + 8a|d| - 4a            1 < |d| < 2

``stretch`` is 1, or ``out / in`` when downsampling with antialiasing: the kernel is widened
by ``in / out`` so that every input contributes (a low-pass filter before sampling). Taps
outside the input either read the edge value (``outside="clamp"``: ONNX's default, PyTorch's
bicubic) or are dropped and the rest renormalised (``outside="exclude"``: ONNX's
``exclude_outside=1``, PyTorch's antialiasing, PIL).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["cubic_kernel", "kernel_taps", "triangle_kernel"]


def triangle_kernel(d: np.ndarray) -> np.ndarray:
    return np.maximum(0.0, 1.0 - np.abs(d))


def cubic_kernel(a: float):
    """Keys' cubic convolution kernel with coefficient ``a`` (support 2)."""

    def k(d: np.ndarray) -> np.ndarray:
        d = np.abs(d)
        near = ((a + 2) * d - (a + 3)) * d * d + 1
        far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
        return np.where(d <= 1, near, np.where(d < 2, far, 0.0))

    return k


def kernel_taps(x, n_in: int, kernel, support: float, stretch: float = 1.0, outside="clamp"):
    """``(index, weight)``, both ``(len(x), taps)``: the inputs each output reads (clamped
    into ``[0, n_in)``; each column non-decreasing where ``x`` is) and their weights (float64, rows
    summing to 1; 0 for an output whose every tap lies outside under ``exclude``).

    Shape: ``x`` ``(n_out,)`` source coordinates in input pixels.
    """
    if outside not in ("clamp", "exclude"):
        raise ValueError(f"kernel_taps: outside must be 'clamp' or 'exclude', got {outside!r}")
    x = np.asarray(x, dtype=np.float64)
    reach = support / stretch  # taps t with |t - x| < reach have a weight
    first = np.floor(x - reach).astype(np.int64) + 1
    t = first[:, None] + np.arange(int(math.ceil(2 * reach)) + 1)
    w = kernel(stretch * (t - x[:, None]))
    total = w.sum(axis=1, keepdims=True)
    w = w / np.where(total == 0, 1.0, total)
    if outside == "exclude":
        w = np.where((t < 0) | (t >= n_in), 0.0, w)
        total = w.sum(axis=1, keepdims=True)
        w = w / np.where(total == 0, 1.0, total)
    return np.clip(t, 0, n_in - 1), w

"""3-D convolution and transposed convolution for the ONNX import, as composites of
cnnlab's 2-D ops (every piece differentiable, no backward of their own).

A 3-D convolution is a sum over the kernel's depth taps ``kd`` of 2-D convolutions of
depth slices: output depth ``o`` reads input depth ``o * s + kd * d``, so the slices
``x[:, :, kd * d :: s]`` (as many as output depths) are stacked into the batch and
convolved with ``w[:, :, kd]``. A transposed one scatters instead: input depth ``i`` adds
``conv_transpose2d(x[:, :, i], w[:, :, kd])`` at output depth ``i * s + kd * d``, built by
interleaving ``s - 1`` zero slices and shifting by ``kd * d``.

Shape: x ``(N, C, D, H, W)``, w ``(C_out, C / groups, kD, kH, kW)`` (transposed:
``(C, C_out / groups, kD, kH, kW)``) -> ``(N, C_out, D_out, H_out, W_out)``, no padding
(the caller pads or crops).
"""

from __future__ import annotations

import numpy as np

import cnnlab
import cnnlab.nn.functional as F

__all__ = ["conv3d", "conv_transpose3d"]


def _depth_to_batch(x):
    n, c, d = x.shape[:3]
    return x.permute(0, 2, 1, 3, 4).reshape((n * d, c) + tuple(x.shape[3:])), n, d


def _batch_to_depth(y, n: int, d: int):
    return y.reshape((n, d) + tuple(y.shape[1:])).permute(0, 2, 1, 3, 4)


def conv3d(x, w, stride, dilation, groups: int = 1):
    """Unpadded 3-D convolution (see the module docstring)."""
    s, dd = stride[0], dilation[0]
    depth = (x.shape[2] - dd * (w.shape[2] - 1) - 1) // s + 1
    total = None
    for kd in range(w.shape[2]):
        start = kd * dd
        part, n, _ = _depth_to_batch(x[:, :, start : start + (depth - 1) * s + 1 : s])
        y = F.conv2d(part, w[:, :, kd], None, tuple(stride[1:]), 0, tuple(dilation[1:]), groups)
        total = y if total is None else total + y
    return _batch_to_depth(total, n, depth)


def conv_transpose3d(x, w, stride, dilation, groups: int = 1):
    """Uncropped 3-D transposed convolution: ``(D - 1) * s + d * (kD - 1) + 1`` deep."""
    s, dd = stride[0], dilation[0]
    depth = x.shape[2]
    full = (depth - 1) * s + dd * (w.shape[2] - 1) + 1
    part, n, _ = _depth_to_batch(x)
    total = None
    for kd in range(w.shape[2]):
        y = F.conv_transpose2d(part, w[:, :, kd], None, tuple(stride[1:]), 0, 0, groups,
                               tuple(dilation[1:]))  # fmt: skip
        y = y.reshape((n, depth, 1) + tuple(y.shape[1:]))
        if s > 1:  # s - 1 zero slices after each input depth
            zeros = cnnlab.tensor(np.zeros((n, depth, s - 1) + tuple(y.shape[3:]), y.dtype))
            y = cnnlab.cat([y, zeros], dim=2)
        y = y.reshape((n, depth * s) + tuple(y.shape[3:]))[:, : (depth - 1) * s + 1]
        before = kd * dd
        after = full - before - y.shape[1]
        y = cnnlab.pad(y, (0, 0) * 3 + (before, after))  # along the depth (dim 1)
        total = y if total is None else total + y
    return total.permute(0, 2, 1, 3, 4)

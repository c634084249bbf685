"""Per-channel affine map ``y = x * scale[c] + shift[c]`` through oneDNN's binary primitive.

This is inference batch norm once its statistics are folded into two vectors
(``scale = weight / sqrt(var + eps)``, ``shift = bias - mean * scale``). oneDNN's own batch-norm
primitive is slow on plain NCHW and its blocked layout costs two reorders; a binary multiply
by a ``(1, C, 1, 1)`` vector with the shift added as a binary post-op reads the NCHW image once
and writes it once, on all of oneDNN's threads (benchmarks/onednn_ops.py: 2-3x NumPy's
``x * scale + shift``, which makes two single-threaded passes).
"""

from __future__ import annotations

import numpy as np

from cnnlab.kernels.onednn import constants as k
from cnnlab.kernels.onednn.arrays import describe
from cnnlab.kernels.onednn.library import check
from cnnlab.kernels.onednn.plan import Plan, cached

__all__ = ["channel_affine", "channel_affine_plan", "one_pixel_batch"]


def _plan(shape: tuple) -> Plan:
    plan = Plan(f"per-channel affine ({describe(x=shape)})")
    lib = plan.lib
    image = plan.md(shape, k.TAG_NCHW)
    vec = plan.md((1, shape[1], 1, 1), k.TAG_NCHW)
    post = plan._new("post_ops", lib.dnnl_post_ops_create)
    check(lib.dnnl_post_ops_append_binary(post, k.BINARY_ADD, vec), f"{plan.what}: post-op")
    attr = plan.new_attr()
    check(lib.dnnl_primitive_attr_set_post_ops(attr, post), f"{plan.what}: set_post_ops")
    pd = plan.pd(lib.dnnl_binary_primitive_desc_create, k.BINARY_MUL, image, vec, image, attr=attr)
    args = {
        k.ARG_SRC_0: plan.user("x", image),
        k.ARG_SRC_1: plan.user("scale", vec),
        k.ARG_DST: plan.user("y", image),
        k.POST_OP_BASE + k.ARG_SRC_1: plan.user("shift", vec),
    }
    plan.step(pd, args)
    return plan


def one_pixel_batch(shape) -> bool:
    """Whether ``shape`` is ``(N > 1, C, 1, 1)``: there oneDNN 3.2 adds the post-op's
    (1, C, 1, 1) shift along the wrong axis (measured: tests/kernels/test_onednn_affine.py)."""
    return shape[0] > 1 and shape[2] * shape[3] == 1


def channel_affine_plan(shape) -> Plan:
    """This thread's cached plan for images of ``shape`` ``(N, C, H, W)``."""
    shape = tuple(int(v) for v in shape)
    if len(shape) != 4:
        raise ValueError(f"per-channel affine: expected (N, C, H, W), got {shape}")
    if one_pixel_batch(shape):
        raise ValueError(f"per-channel affine: images of one pixel are not supported, got {shape}")
    return cached(("channel_affine", shape), lambda: _plan(shape))


def channel_affine(x: np.ndarray, scale: np.ndarray, shift: np.ndarray, out=None) -> np.ndarray:
    """``y[n, c, h, w] = x[n, c, h, w] * scale[c] + shift[c]`` (``out`` may be ``x``).

    Shape: x ``(N, C, H, W)`` C-contiguous float32, scale/shift ``(C,)`` float32 -> like x.
    """
    plan = channel_affine_plan(x.shape)
    y = np.empty_like(x) if out is None else out
    plan.run(x=x, scale=scale, shift=shift, y=y)
    return y

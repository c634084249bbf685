"""2-D convolution through oneDNN: forward, gradient of the input, gradient of the weights.

The images go to the primitives as NHWC (channels last): oneDNN's brgemm kernels run there
without reordering between consecutive layers, and NHWC is a layout a NumPy array can have
(an NCHW-shaped array with NHWC strides, :mod:`arrays`). So each image argument is read in
the layout its strides say (an NCHW one is reordered inside the call) and each image result
is an NHWC-strided array, which the next convolution, batch norm, pooling or ReLU takes as it
is, and NumPy reads as any array. The weights get format ``any``: the plan reorders OIHW into
the primitive's blocked weights inside the call. The plans are built in :mod:`conv_plans`;
this module checks the arguments and runs them.

Measured 2026-12-02 on 2 cores of an AMD EPYC (AVX-512), ``benchmarks.train_step``, against
oneDNN's own channel-blocked choice (nChw16c, which no strided array can hold): NHWC gave
ResNet-20 inference 1.24x PyTorch against 1.06x, LeNet-5 inference 2.57x against 1.37x and
EfficientNet-Lite0 fine-tuning 1.93x against 1.63x, but ResNet-20 training 1.15x against
1.19x, VGG-style 1.13x against 1.19x and fashion_cnn 1.56x against 1.62x. Measured
2026-12-07 on 2 cores of a loaded AVX2 EPYC, CPU time per kernel in a ResNet-20 training
step, NHWC against the blocked layout kept between ops: forward 140-160 ms against 160,
backward data 132-148 against 132-147, backward weights 192-237 against 169-187.

Arguments are the kernel layer's: ``padding`` is ``(top, bottom, left, right)``,
``dilation`` PyTorch's (1 = dense; oneDNN counts 0 = dense).
"""

from __future__ import annotations

import numpy as np

from cnnlab.kernels.onednn import arrays
from cnnlab.kernels.onednn.arrays import as_f32
from cnnlab.kernels.onednn.conv_plans import NHWC, data_plan, forward_plan, weights_plan
from cnnlab.kernels.onednn.conv_post import SLOW_CHAINS, check_post, step_by_step
from cnnlab.kernels.onednn.eltwise import SUMMED
from cnnlab.kernels.onednn.library import OneDNNError
from cnnlab.kernels.onednn.plan import Plan
from cnnlab.kernels.onednn.reorder import relayout

__all__ = [
    "conv2d_backward_data",
    "conv2d_backward_weights",
    "conv2d_forward",
    "data_plan",
    "forward_plan",
    "weights_plan",
]


def weights(w, groups: int, what: str) -> np.ndarray:
    """The weights as a kernel takes them: OIHW, or OHWI-strided (channels last) where
    there is one group (grouped weights are 5-D to oneDNN: C-contiguous only)."""
    w = arrays.image(w, "w", what)
    return w if groups == 1 or w.flags.c_contiguous else np.ascontiguousarray(w)


def _forward_args(x, w, b, post, addend, groups):
    x = arrays.image(x, "x", "conv2d_forward")
    w = weights(w, groups, "conv2d_forward")
    b = None if b is None else as_f32(b, "b", "conv2d_forward")
    post = check_post(post)
    adds = bool(post) and post[0][0] == "add"
    if adds != (addend is not None):
        raise ValueError("conv2d_forward: an addend is needed exactly when post adds one")
    if adds:
        addend = arrays.image(addend, "addend", "conv2d_forward")
    return x, w, b, post, addend


def _chain_key(x, w, b, post, geo) -> tuple:
    key = (tuple(x.shape), tuple(w.shape), b is not None, arrays.tag(x), arrays.tag(w), post)
    return key + tuple(tuple(v) if isinstance(v, (tuple, list)) else v for v in geo.values())


def forward_plan_for(x, w, b=None, *, post=(), addend=None, **geo) -> Plan | None:
    """The plan :func:`conv2d_forward` runs for these arguments (built and cached now), or
    None where the post-ops have no fast kernel (it then runs them one at a time); raises
    where oneDNN has no convolution for them. ``supports`` calls this, so the plan it checks
    is the one that runs."""
    x, w, b, post, addend = _forward_args(x, w, b, post, addend, geo["groups"])
    return _plan(x, w, b, post, geo)


def _plan(x, w, b, post, geo) -> Plan | None:
    if post and _chain_key(x, w, b, post, geo) in SLOW_CHAINS:
        return None
    try:
        return forward_plan(x.shape, w.shape, b is not None, **geo, x_tag=arrays.tag(x),
                            post=post, w_tag=arrays.tag(w))  # fmt: skip
    except (ValueError, OneDNNError):
        if not post:  # the convolution itself: its own error
            raise
        SLOW_CHAINS.add(_chain_key(x, w, b, post, geo))  # no fast kernel for this chain
        return None


def conv2d_forward(x, w, b=None, *, stride, padding, dilation, groups: int, post=(), addend=None):
    """``y = x ⋆ w + b`` (cross-correlation, as ``torch.nn.functional.conv2d``); ``x`` NCHW
    or NHWC, y NHWC.

    ``post`` (inference): what to apply to y as it is written, in order (:func:`check_post`):
    ``("add",)`` adds ``addend`` (y's shape, any layout), then ``("relu",)`` or
    ``("hardtanh", lo, hi)``. oneDNN's activations turn NaN into a number (PyTorch's keep
    it), so the plan also sums rows of x, w and the addend in the same call, and where a sum
    (or a small b or w) is not finite the result is computed again the exact way: the
    convolution, the add, and the activations' NaN-keeping kernels.

    Shape: x ``(N, C, H, W)``, w ``(O, C/groups, KH, KW)``, b ``(O,)`` or None ->
    ``(N, O, OH, OW)``.
    """
    geo = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    x, w, b, post, addend = _forward_args(x, w, b, post, addend, groups)
    plan = _plan(x, w, b, post, geo)
    if plan is None and post:
        return step_by_step(x, w, b, post, addend, geo)
    y = arrays.empty(plan.y_shape, NHWC)
    run = {"x": x, "w": w, "y": y}
    if b is not None:
        run["b"] = b
    if addend is not None:
        if tuple(addend.shape) != tuple(plan.y_shape):
            raise ValueError(f"conv2d_forward: addend {addend.shape}, output {plan.y_shape}")
        run["addend"] = addend = relayout(addend, NHWC, "addend", "conv2d_forward")
    if not plan.nan_sums:
        plan.run(**run)
        return y
    given = {"x": x, "w": w, "addend": addend}
    small = [a for a in (b, *given.values()) if a is not None and a.size < SUMMED]
    if not all(np.isfinite(a).all() for a in small):
        return step_by_step(x, w, b, post, addend, geo)
    sums = []
    for name, rows in plan.nan_sums:
        run[f"{name}_rows"] = arrays.flat(given[name])
        run[f"{name}_sums"] = s = np.empty(rows, np.float32)
        sums.append(s)
    plan.run(**run)
    if not all(np.isfinite(s).all() for s in sums):  # a NaN the activation mapped to 0
        return step_by_step(x, w, b, post, addend, geo)
    return y


def conv2d_backward_data(gy, w, *, x_shape, stride, padding, dilation, groups: int):
    """``dL/dx``: the transposed convolution of ``gy`` (NCHW or NHWC) with ``w``
    (``x_shape`` fixes the rows and columns a strided forward never read, which get zero);
    the result is NHWC.

    Shape: gy ``(N, O, OH, OW)``, w ``(O, C/groups, KH, KW)`` -> ``x_shape``.
    """
    gy = arrays.image(gy, "gy", "conv2d_backward_data")
    w = weights(w, groups, "conv2d_backward_data")
    plan = data_plan(
        x_shape, w.shape, stride, padding, dilation, groups, arrays.tag(gy), arrays.tag(w)
    )
    _check_gy(plan, gy)
    gx = arrays.empty(plan.x_shape, NHWC)
    plan.run(gy=gy, w=w, gx=gx)
    return gx


def conv2d_backward_weights(
    x, gy, *, w_shape, stride, padding, dilation, groups: int, bias: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """``dL/dw`` (the correlation of ``x`` with ``gy`` over the batch) and, with ``bias``,
    ``dL/db = sum of gy over N, OH, OW``. ``x`` and ``gy`` NCHW or NHWC.

    Shape: x ``(N, C, H, W)``, gy ``(N, O, OH, OW)`` -> gw ``w_shape``, gb ``(O,)`` or None.
    """
    x = arrays.image(x, "x", "conv2d_backward_weights")
    gy = arrays.image(gy, "gy", "conv2d_backward_weights")
    plan = weights_plan(
        x.shape, w_shape, bias, stride, padding, dilation, groups, arrays.tag(x), arrays.tag(gy)
    )
    _check_gy(plan, gy)
    if plan.pad_first is not None:
        x = _zero_padded(x, plan.pad_first)
    gw = np.empty(plan.w_shape, np.float32)
    gb = np.empty(plan.w_shape[0], np.float32) if bias else None
    run = {"x": x, "gy": gy, "gw": gw}
    if bias:
        run["gb"] = gb
    plan.run(**run)
    return gw, gb


def _zero_padded(x: np.ndarray, padding) -> np.ndarray:
    """``x`` with ``padding`` (top, bottom, left, right) rows and columns of zeros round
    each image, NHWC."""
    n, c, h, w = x.shape
    top, bottom, left, right = padding
    out = arrays.empty((n, c, h + top + bottom, w + left + right), NHWC)
    out.fill(0.0)
    out[:, :, top : top + h, left : left + w] = x
    return out


def _check_gy(plan: Plan, gy) -> None:
    if tuple(gy.shape) != plan.y_shape:
        raise ValueError(f"{plan.what}: expected gy of shape {plan.y_shape}, got {gy.shape}")

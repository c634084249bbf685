"""Max and average pooling through oneDNN, forward and backward, on NCHW or NHWC-strided
images (:mod:`arrays`), which pool in their own layout and give results in it.

PyTorch's ``ceil_mode`` becomes a larger bottom/right padding: oneDNN computes the output size
with floor, so the far padding grows until floor gives PyTorch's ceil count (whose last window
must start inside the input or the near padding). Max pooling's backward reads oneDNN's
workspace (where each maximum was), which the forward returns in its state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnnlab.kernels.onednn import arrays
from cnnlab.kernels.onednn import constants as k
from cnnlab.kernels.onednn.arrays import describe
from cnnlab.kernels.onednn.plan import Plan, cached, dims

__all__ = [
    "MaxPoolState",
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "max_pool2d_backward",
    "max_pool2d_forward",
    "max_pool2d_inference",
    "pool_geometry",
]


def _pads(padding) -> tuple[int, int, int, int]:
    p = tuple(int(v) for v in padding)
    if len(p) == 2:
        return p[0], p[0], p[1], p[1]
    if len(p) != 4:
        raise ValueError(f"oneDNN pooling: padding must be (ph, pw) or (t, b, l, r), got {p}")
    return p


def pool_geometry(x_shape, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's output size and the far padding that makes oneDNN's floor reach it.

    Returns ``(y_shape, pads, grown)``: ``pads`` is ``(top, bottom, left, right)`` for oneDNN
    and ``grown`` whether ceil_mode added rows/columns beyond the caller's padding.
    """
    top, bottom, left, right = _pads(padding)
    out, pads, grown = [], [], False
    for size, kk, s, d, lo, hi in zip(
        x_shape[2:], kernel, stride, dilation, (top, left), (bottom, right)
    ):
        span = d * (kk - 1) + 1
        free = size + lo + hi - span
        o = (-(-free // s) if ceil_mode else free // s) + 1
        if ceil_mode and (o - 1) * s >= size + lo:  # the last window would start in padding
            o -= 1
        far = max(hi, (o - 1) * s + span - size - lo)
        grown = grown or far > hi
        out.append(o)
        pads += [lo, far]
    if min(out) < 1:
        raise ValueError(f"oneDNN pooling: empty output {out} for input {tuple(x_shape)}")
    return (*x_shape[:2], *out), (pads[0], pads[1], pads[2], pads[3]), grown


class _Geometry:
    def __init__(self, plan, tag, x_shape, kernel, stride, padding, dilation, ceil_mode):
        self.y_shape, pads, _ = pool_geometry(x_shape, kernel, stride, padding, dilation, ceil_mode)
        self.x = plan.md(x_shape, tag)  # src and dst in one layout: NCHW or NHWC
        self.y = plan.md(self.y_shape, tag)
        self.spatial = (
            dims(stride),
            dims(kernel),
            dims(d - 1 for d in dilation),
            dims(pads[0::2]),
            dims(pads[1::2]),
        )

    def forward_pd(self, plan, alg, prop):
        fn = plan.lib.dnnl_pooling_forward_primitive_desc_create
        return plan.pd(fn, prop, alg, self.x, self.y, *self.spatial)


def _what(name, x_shape, kernel, stride, padding, dilation, ceil_mode):
    return (
        f"{name} ({describe(x=x_shape)}, kernel {kernel}, stride {stride}, padding {padding}, "
        f"dilation {dilation}, ceil_mode {ceil_mode})"
    )


def _forward_plan(alg, training, tag, x_shape, *geo) -> Plan:
    plan = Plan(_what("pooling forward", x_shape, *geo))
    g = _Geometry(plan, tag, x_shape, *geo)
    pd = g.forward_pd(plan, alg, k.FORWARD_TRAINING if training else k.FORWARD_INFERENCE)
    args = {k.ARG_SRC: plan.user("x", g.x), k.ARG_DST: plan.user("y", g.y)}
    plan.workspace_bytes = 0
    if training:
        ws = plan.query(pd, k.QUERY_WORKSPACE_MD)
        args[k.ARG_WORKSPACE] = plan.user("workspace", ws)
        plan.workspace_bytes = plan.nbytes(ws)
    plan.step(pd, args)
    plan.y_shape = g.y_shape
    return plan


def _backward_plan(alg, tag, gy_tag, x_shape, *geo) -> Plan:
    plan = Plan(_what("pooling backward", x_shape, *geo))
    g = _Geometry(plan, tag, x_shape, *geo)
    hint = g.forward_pd(plan, alg, k.FORWARD_TRAINING)
    fn = plan.lib.dnnl_pooling_backward_primitive_desc_create
    pd = plan.pd(fn, alg, g.x, g.y, *g.spatial, hint)
    gy_md = g.y if gy_tag == tag else plan.md(g.y_shape, gy_tag)
    args = {k.ARG_DIFF_DST: plan.into("gy", gy_md, g.y), k.ARG_DIFF_SRC: plan.user("gx", g.x)}
    if alg == k.POOLING_MAX:
        args[k.ARG_WORKSPACE] = plan.user("workspace", plan.query(hint, k.QUERY_WORKSPACE_MD))
    plan.step(pd, args)
    plan.y_shape = g.y_shape
    return plan


def _geo(kernel, stride, padding, dilation, ceil_mode) -> tuple:
    ints = lambda v: tuple(int(i) for i in v)  # noqa: E731
    return ints(kernel), ints(stride), _pads(padding), ints(dilation), bool(ceil_mode)


def _avg_alg(count_include_pad: bool) -> int:
    return k.POOLING_AVG_INCLUDE_PADDING if count_include_pad else k.POOLING_AVG_EXCLUDE_PADDING


def forward_plan(kind: str, x_shape, *, training=True, tag=k.TAG_NCHW, **geo) -> Plan:
    """This thread's cached pooling forward plan (``kind`` "max" or "avg_include" /
    "avg_exclude") for images in layout ``tag``; ``geo``: kernel, stride, padding,
    dilation, ceil_mode."""
    a = _geo(**geo)
    alg = {"max": k.POOLING_MAX, "avg_include": _avg_alg(True), "avg_exclude": _avg_alg(False)}
    key = ("pool_fwd", kind, bool(training), int(tag), tuple(x_shape), *a)
    return cached(key, lambda: _forward_plan(alg[kind], training, int(tag), tuple(x_shape), *a))


def _backward(kind, alg, gy, x_shape, a, tag=k.TAG_NCHW, **extra):
    gy_tag = arrays.tag(gy)
    key = ("pool_bwd", kind, int(tag), gy_tag, tuple(x_shape), *a)
    plan = cached(key, lambda: _backward_plan(alg, int(tag), gy_tag, tuple(x_shape), *a))
    if tuple(gy.shape) != plan.y_shape:
        raise ValueError(f"{plan.what}: expected gy of shape {plan.y_shape}, got {gy.shape}")
    gx = arrays.empty(tuple(x_shape), tag)
    plan.run(gy=gy, gx=gx, **extra)
    return gx


@dataclass(frozen=True)
class MaxPoolState:
    """What max-pooling backward needs: the configuration and oneDNN's workspace."""

    x_shape: tuple
    geometry: tuple
    workspace: np.ndarray
    tag: int = k.TAG_NCHW  # the layout the forward pooled in (the workspace's)


def max_pool2d_forward(x, *, kernel, stride, padding, dilation, ceil_mode: bool):
    """Window maxima (padding is -inf), as ``torch.nn.functional.max_pool2d``.

    Shape: x ``(N, C, H, W)`` -> y ``(N, C, OH, OW)``; state for :func:`max_pool2d_backward`.
    y is in x's layout (NCHW or NHWC).
    """
    x = arrays.image(x, "x", "max_pool2d_forward")
    a = _geo(kernel, stride, padding, dilation, ceil_mode)
    tag = arrays.tag(x)
    plan = forward_plan(
        "max",
        x.shape,
        tag=tag,
        kernel=a[0],
        stride=a[1],
        padding=a[2],
        dilation=a[3],
        ceil_mode=a[4],
    )
    y = arrays.empty(plan.y_shape, tag)
    ws = np.empty(plan.workspace_bytes, np.uint8)
    plan.run(x=x, y=y, workspace=ws)
    return y, MaxPoolState(tuple(x.shape), a, ws, tag)


def max_pool2d_backward(gy, state: MaxPoolState) -> np.ndarray:
    """``dL/dx``: each window's gradient goes to the position of its maximum (summed where
    windows overlap).

    Shape: gy ``(N, C, OH, OW)`` -> ``(N, C, H, W)`` (in the forward's layout).
    """
    gy = arrays.image(gy, "gy", "max_pool2d_backward")
    return _backward(
        "max",
        k.POOLING_MAX,
        gy,
        state.x_shape,
        state.geometry,
        state.tag,
        workspace=state.workspace,
    )


def max_pool2d_inference(x, *, kernel, stride, padding, dilation, ceil_mode: bool):
    """:func:`max_pool2d_forward`'s maxima without a workspace (nothing will ask for a
    gradient). Shape: x ``(N, C, H, W)`` -> y ``(N, C, OH, OW)``, in x's layout."""
    x = arrays.image(x, "x", "max_pool2d_inference")
    a = _geo(kernel, stride, padding, dilation, ceil_mode)
    tag = arrays.tag(x)
    geo = dict(zip(("kernel", "stride", "padding", "dilation", "ceil_mode"), a))
    plan = forward_plan("max", x.shape, training=False, tag=tag, **geo)
    y = arrays.empty(plan.y_shape, tag)
    plan.run(x=x, y=y)
    return y


def _no_divisor(divisor_override) -> None:
    if divisor_override is not None:
        raise ValueError("oneDNN avg_pool2d: no divisor_override (the NumPy kernels have it)")


def avg_pool2d_forward(
    x, *, kernel, stride, padding, ceil_mode: bool, count_include_pad: bool, divisor_override=None
):
    """Window means, as ``torch.nn.functional.avg_pool2d`` (no ``divisor_override``).

    Shape: x ``(N, C, H, W)`` -> ``(N, C, OH, OW)``, in x's layout.
    """
    _no_divisor(divisor_override)
    x = arrays.image(x, "x", "avg_pool2d_forward")
    tag = arrays.tag(x)
    kind = "avg_include" if count_include_pad else "avg_exclude"
    plan = forward_plan(
        kind,
        x.shape,
        training=False,
        tag=tag,
        kernel=kernel,
        stride=stride,
        padding=padding,
        dilation=(1, 1),
        ceil_mode=ceil_mode,
    )
    y = arrays.empty(plan.y_shape, tag)
    plan.run(x=x, y=y)
    return y


def avg_pool2d_backward(
    gy,
    *,
    x_shape,
    kernel,
    stride,
    padding,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override=None,
) -> np.ndarray:
    """``dL/dx``: each window's gradient divided by its divisor, spread over the window.

    Shape: gy ``(N, C, OH, OW)`` -> ``x_shape``, in gy's layout.
    """
    _no_divisor(divisor_override)
    gy = arrays.image(gy, "gy", "avg_pool2d_backward")
    a = _geo(kernel, stride, padding, (1, 1), ceil_mode)
    kind = "avg_include" if count_include_pad else "avg_exclude"
    alg = _avg_alg(count_include_pad)
    return _backward(kind, alg, gy, tuple(x_shape), a, arrays.tag(gy))

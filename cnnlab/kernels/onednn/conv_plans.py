"""The oneDNN plans of a 2-D convolution: the descriptors of one configuration (forward,
gradient of the input, gradient of the weights) and the reorders around its primitive,
built once per thread and cached. :mod:`conv` runs them on the caller's arrays.

Each primitive runs on the image layout :func:`conv_layout.inner_tag` picks (NHWC as the
caller's arrays lie, or oneDNN's channel-blocked choice, reordered inside the call); the
weights get format ``any`` (the plan reorders OIHW into the primitive's blocked weights).
Arguments are the kernel layer's: ``padding`` is ``(top, bottom, left, right)``,
``dilation`` PyTorch's (1 = dense; oneDNN counts 0 = dense).
"""

from __future__ import annotations

import numpy as np

from cnnlab.kernels.onednn import constants as k
from cnnlab.kernels.onednn.arrays import describe
from cnnlab.kernels.onednn.conv_layout import inner_tag
from cnnlab.kernels.onednn.conv_post import attributes, check_post
from cnnlab.kernels.onednn.eltwise import SUMMED, sums_step
from cnnlab.kernels.onednn.plan import Plan, cached, dims

__all__ = ["NHWC", "data_plan", "forward_plan", "weights_plan"]

NHWC = k.TAG_NHWC  # the layout the primitives run on and write their image results in


def _out_hw(x_shape, w_shape, stride, padding, dilation) -> tuple[int, int]:
    (h, w), (kh, kw) = x_shape[2:], w_shape[2:]
    top, bottom, left, right = padding
    oh = (h + top + bottom - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (w + left + right - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    return oh, ow


class _Geometry:
    """The shapes and the oneDNN descriptors of one convolution: ``x_user``/``y_user`` in
    the layouts the caller's arrays come in, ``x_nhwc``/``y_nhwc`` the primitive's."""

    def __init__(self, plan: Plan, x_shape, w_shape, stride, padding, dilation, groups,
                 x_tag, y_tag, w_tag=k.TAG_NCHW):  # fmt: skip
        n, c = x_shape[:2]
        o = w_shape[0]
        self.x_shape, self.w_shape, self.groups = tuple(x_shape), tuple(w_shape), groups
        self.y_shape = (n, o, *_out_hw(x_shape, w_shape, stride, padding, dilation))
        if min(self.y_shape) < 1:
            raise ValueError(f"{plan.what}: empty output {self.y_shape}")
        # grouped weights are (G, O/G, C/G, KH, KW) to oneDNN, the same bytes as OIHW
        self.w_dims = self.w_shape if groups == 1 else (groups, o // groups, *self.w_shape[1:])
        self.x_user = plan.md(self.x_shape, x_tag)
        # OIHW, or OHWI for channels-last weights (model.to(memory_format=channels_last))
        self.w_user = plan.md(self.w_dims, w_tag if groups == 1 else k.TAG_GOIHW)
        self.y_user = plan.md(self.y_shape, y_tag)
        self.x_nhwc, self.y_nhwc = plan.md(self.x_shape, NHWC), plan.md(self.y_shape, NHWC)
        self.w_any = plan.md(self.w_dims)
        self.b = plan.md((o,), k.TAG_X)
        top, bottom, left, right = padding
        self.spatial = (
            dims(stride),
            dims(d - 1 for d in dilation),
            dims((top, left)),
            dims((bottom, right)),
        )

    def inner(self, plan: Plan, which: str):
        """The image descriptors the ``which`` primitive runs on (:func:`inner_tag`)."""
        tag = inner_tag(which, self.x_shape, self.w_shape, self.groups, self.y_shape)
        if tag == NHWC:
            return self.x_nhwc, self.y_nhwc
        return plan.md(self.x_shape, tag), plan.md(self.y_shape, tag)

    def forward_pd(self, plan: Plan, bias: bool, attr=None, which="forward"):
        x_md, y_md = self.inner(plan, which)
        return plan.pd(
            plan.lib.dnnl_convolution_forward_primitive_desc_create,
            k.FORWARD_TRAINING,
            k.CONVOLUTION_DIRECT,
            x_md,
            self.w_any,
            self.b if bias else None,
            y_md,
            *self.spatial,
            attr=attr,
        )


def _what(op, x_shape, w_shape, stride, padding, dilation, groups) -> str:
    return (
        f"convolution {op} ({describe(x=x_shape, w=w_shape)}, stride {stride}, "
        f"padding {padding}, dilation {dilation}, groups {groups})"
    )


def _forward_plan(x_shape, w_shape, bias, stride, padding, dilation, groups, x_tag, post, w_tag):
    plan = Plan(_what("forward", x_shape, w_shape, stride, padding, dilation, groups))
    if post:
        plan.what += f" then {' and '.join(p[0] for p in post)}"
    g = _Geometry(plan, x_shape, w_shape, stride, padding, dilation, groups, x_tag, NHWC, w_tag)
    # a post-op add reads its addend in the output's layout (NHWC: the caller reorders it)
    attr, post_args = attributes(plan, post, g.y_shape, NHWC) if post else (None, {})
    pd = g.forward_pd(plan, bias, attr=attr)
    plan.impl_name = plan.impl(pd)
    if post and plan.impl_name.startswith("ref"):
        # measured: an addend in another layout than the output got ref:any, 1.2 s instead
        # of 1 ms for a 128 x 32 x 16 x 16 conv
        raise ValueError(f"{plan.what}: oneDNN has only its reference kernel for this")
    args = {
        **post_args,
        k.ARG_SRC: plan.into("x", g.x_user, plan.query(pd, k.QUERY_SRC_MD)),
        k.ARG_WEIGHTS: plan.into("w", g.w_user, plan.query(pd, k.QUERY_WEIGHTS_MD)),
        k.ARG_DST: plan.out_of("y", g.y_user, plan.query(pd, k.QUERY_DST_MD)),
    }
    if bias:
        args[k.ARG_BIAS] = plan.user("b", g.b)
    plan.step(pd, args)
    plan.x_shape, plan.w_shape, plan.y_shape = g.x_shape, g.w_shape, g.y_shape
    plan.nan_sums = []  # (argument, rows) whose row sums show a NaN the activation hides
    if post and post[-1][0] != "add":
        sizes = {"x": g.x_shape, "w": g.w_shape, "addend": g.y_shape if post[0][0] == "add" else 0}
        for name, shape in sizes.items():
            size = int(np.prod(shape))
            if size >= SUMMED:
                plan.nan_sums.append((name, sums_step(plan, size, f"{name}_rows", f"{name}_sums")))
    return plan


def _data_plan(x_shape, w_shape, stride, padding, dilation, groups, gy_tag, w_tag):
    plan = Plan(_what("backward data", x_shape, w_shape, stride, padding, dilation, groups))
    g = _Geometry(plan, x_shape, w_shape, stride, padding, dilation, groups, NHWC, gy_tag, w_tag)
    hint = g.forward_pd(plan, False, which="data")
    x_md, y_md = g.inner(plan, "data")
    pd = plan.pd(
        plan.lib.dnnl_convolution_backward_data_primitive_desc_create,
        k.CONVOLUTION_DIRECT,
        x_md,
        g.w_any,
        y_md,
        *g.spatial,
        hint,
    )
    args = {
        k.ARG_DIFF_DST: plan.into("gy", g.y_user, plan.query(pd, k.QUERY_DIFF_DST_MD)),
        k.ARG_WEIGHTS: plan.into("w", g.w_user, plan.query(pd, k.QUERY_WEIGHTS_MD)),
        k.ARG_DIFF_SRC: plan.out_of("gx", g.x_user, plan.query(pd, k.QUERY_DIFF_SRC_MD)),
    }
    plan.step(pd, args)
    plan.x_shape, plan.w_shape, plan.y_shape = g.x_shape, g.w_shape, g.y_shape
    return plan


def _weights_plan(x_shape, w_shape, bias, stride, padding, dilation, groups, x_tag, gy_tag):
    """The backward-weights plan; its ``pad_first`` is None, or the padding the caller puts
    round x (with zeros) before running it, the plan then seeing none.

    oneDNN picks its kernel by the problem, padding included, and for some paddings its only
    kernel is the GEMM one, where the same problem on an image padded beforehand gets a
    direct kernel: measured 2026-12-07 on 2 AVX2 cores, oneDNN 3.2, EfficientNet-Lite0's 5x5
    depthwise gradient on 32 x 1152 x 3 x 3 padded by 2 took 31 ms on ``gemm:jit`` and 8 ms
    on ``jit:avx2`` with the zeros written first (PyTorch's model pads first, so its
    convolution gets the direct kernel too). The copy costs about 1 ms there.
    """
    plan = _weights_steps(x_shape, w_shape, bias, stride, padding, dilation, groups, x_tag, gy_tag)
    plan.pad_first = None
    if any(padding) and "gemm" in plan.impl_name:
        n, c, h, w = x_shape
        top, bottom, left, right = padding
        padded = _weights_steps((n, c, h + top + bottom, w + left + right), w_shape, bias,
                                stride, (0, 0, 0, 0), dilation, groups, NHWC, gy_tag)  # fmt: skip
        if "gemm" not in padded.impl_name and not padded.impl_name.startswith("ref"):
            padded.pad_first = tuple(padding)
            return padded
    return plan


def _weights_steps(x_shape, w_shape, bias, stride, padding, dilation, groups, x_tag, gy_tag):
    plan = Plan(_what("backward weights", x_shape, w_shape, stride, padding, dilation, groups))
    g = _Geometry(plan, x_shape, w_shape, stride, padding, dilation, groups, x_tag, gy_tag)
    hint = g.forward_pd(plan, bias, which="weights")
    x_md, y_md = g.inner(plan, "weights")
    pd = plan.pd(
        plan.lib.dnnl_convolution_backward_weights_primitive_desc_create,
        k.CONVOLUTION_DIRECT,
        x_md,
        g.w_any,
        g.b if bias else None,
        y_md,
        *g.spatial,
        hint,
    )
    plan.impl_name = plan.impl(pd)
    args = {
        k.ARG_SRC: plan.into("x", g.x_user, plan.query(pd, k.QUERY_SRC_MD)),
        k.ARG_DIFF_DST: plan.into("gy", g.y_user, plan.query(pd, k.QUERY_DIFF_DST_MD)),
        k.ARG_DIFF_WEIGHTS: plan.out_of("gw", g.w_user, plan.query(pd, k.QUERY_DIFF_WEIGHTS_MD)),
    }
    if bias:
        args[k.ARG_DIFF_BIAS] = plan.user("gb", g.b)
    plan.step(pd, args)
    plan.x_shape, plan.w_shape, plan.y_shape = g.x_shape, g.w_shape, g.y_shape
    return plan


def _ints(v) -> tuple:
    """``v`` as a tuple for a plan's cache key (NumPy's ints hash and compare as Python's:
    no conversion, which cost a third of a cached call's Python time)."""
    return v if type(v) is tuple else tuple(v)


def forward_plan(
    x_shape,
    w_shape,
    bias,
    stride,
    padding,
    dilation,
    groups,
    x_tag=k.TAG_NCHW,
    post=(),
    w_tag=k.TAG_NCHW,
) -> Plan:
    """This thread's cached forward plan for one configuration (built on first use): x
    arrives in layout ``x_tag``, w in ``w_tag``, y is written NHWC; ``post`` (see
    :func:`check_post`) is applied as y is written."""
    a = _ints(x_shape), _ints(w_shape), bool(bias), _ints(stride), _ints(padding)
    a += (_ints(dilation), int(groups), int(x_tag), check_post(post), int(w_tag))
    return cached(("conv_fwd", *a), lambda: _forward_plan(*a))


def data_plan(
    x_shape, w_shape, stride, padding, dilation, groups, gy_tag=k.TAG_NCHW, w_tag=k.TAG_NCHW
) -> Plan:
    """This thread's cached backward-data plan for one configuration (gx written NHWC)."""
    a = _ints(x_shape), _ints(w_shape), _ints(stride), _ints(padding), _ints(dilation)
    a += (int(groups), int(gy_tag), int(w_tag))
    return cached(("conv_bwd_data", *a), lambda: _data_plan(*a))


def weights_plan(
    x_shape, w_shape, bias, stride, padding, dilation, groups, x_tag=k.TAG_NCHW, gy_tag=k.TAG_NCHW
) -> Plan:
    """This thread's cached backward-weights plan for one configuration."""
    a = _ints(x_shape), _ints(w_shape), bool(bias), _ints(stride), _ints(padding)
    a += (_ints(dilation), int(groups), int(x_tag), int(gy_tag))
    return cached(("conv_bwd_weights", *a), lambda: _weights_plan(*a))

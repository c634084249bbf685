"""2-D convolution through oneDNN: forward, gradient of the input, gradient of the weights.

The convolution primitives get format tag ``any`` for the image, the weights and the output,
so oneDNN picks its blocked layouts and its JIT direct kernels; the plan reorders the NCHW /
OIHW arrays into them and the results back (plain NCHW everywhere would make oneDNN fall back
to a GEMM path, 2-7x slower). Arguments are the kernel layer's: ``padding`` is
``(top, bottom, left, right)``, ``dilation`` PyTorch's (1 = dense; oneDNN counts 0 = dense).
"""

from __future__ import annotations

import numpy as np

from cnnlab.kernels.onednn import blocked as bl
from cnnlab.kernels.onednn import constants as k
from cnnlab.kernels.onednn.arrays import as_f32, describe
from cnnlab.kernels.onednn.conv_post import (
    SLOW_CHAINS,
    attributes,
    check_post,
    finite,
    step_by_step,
)
from cnnlab.kernels.onednn.library import OneDNNError
from cnnlab.kernels.onednn.plan import Plan, cached, dims

__all__ = [
    "conv2d_backward_data",
    "conv2d_backward_weights",
    "conv2d_forward",
    "data_plan",
    "forward_plan",
    "weights_plan",
]


PLAIN_GRAD_BELOW = 4  # input channels below which backward-data writes plain NCHW


def channels_last(x, groups: int, inference: bool) -> bool:
    """Whether a forward convolution should run on NHWC images rather than oneDNN's own
    channel-blocked choice: for inference, for grouped (depthwise) convolutions, and for an
    input that is NHWC already (so a network stays in one layout: no reorders between).

    Measured 2026-12-02 on 2 cores of an AMD EPYC (AVX-512), ``benchmarks.train_step``:
    NHWC (oneDNN's brgemm kernels) gave ResNet-20 inference 1.24x PyTorch against 1.06x
    blocked, LeNet-5 inference 2.57x against 1.37x, and EfficientNet-Lite0 fine-tuning
    (depthwise convolutions) 1.93x against 1.63x; but ResNet-20 training 1.15x against
    1.19x, VGG-style 1.13x against 1.19x and fashion_cnn 1.56x against 1.62x."""
    return inference or groups > 1 or bl.layout_tag(x) == k.TAG_NHWC


def _out_hw(x_shape, w_shape, stride, padding, dilation) -> tuple[int, int]:
    (h, w), (kh, kw) = x_shape[2:], w_shape[2:]
    top, bottom, left, right = padding
    oh = (h + top + bottom - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (w + left + right - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    return oh, ow


class _Geometry:
    """The shapes and the oneDNN descriptors of one convolution."""

    def __init__(
        self, plan: Plan, x_shape, w_shape, stride, padding, dilation, groups, x_tag, y_tag,
        channels_last=False,
    ):  # fmt: skip
        n, c = x_shape[:2]
        o = w_shape[0]
        self.x_shape, self.w_shape = tuple(x_shape), tuple(w_shape)
        self.y_shape = (n, o, *_out_hw(x_shape, w_shape, stride, padding, dilation))
        if min(self.y_shape) < 1:
            raise ValueError(f"{plan.what}: empty output {self.y_shape}")
        # grouped weights are (G, O/G, C/G, KH, KW) to oneDNN, the same bytes as OIHW
        self.w_dims = self.w_shape if groups == 1 else (groups, o // groups, *self.w_shape[1:])
        tag = k.TAG_NCHW if groups == 1 else k.TAG_GOIHW
        self.x_user = plan.md(self.x_shape, x_tag)  # the layout the caller's x/gy come in
        self.w_user = plan.md(self.w_dims, tag)
        self.y_user = plan.md(self.y_shape, y_tag)
        # the image layout: oneDNN's choice (channel-blocked), or NHWC (see CHANNELS_LAST)
        pref = k.TAG_NHWC if channels_last else k.ANY
        self.x_any, self.w_any = plan.md(self.x_shape, pref), plan.md(self.w_dims)
        self.y_any = plan.md(self.y_shape, pref)
        self.b = plan.md((o,), k.TAG_X)
        top, bottom, left, right = padding
        self.strides = dims(stride)
        self.dilates = dims(d - 1 for d in dilation)
        self.pad_l, self.pad_r = dims((top, left)), dims((bottom, right))
        self.spatial = (self.strides, self.dilates, self.pad_l, self.pad_r)

    def forward_pd(self, plan: Plan, bias: bool, x_md=None, attr=None):
        lib = plan.lib
        return plan.pd(
            lib.dnnl_convolution_forward_primitive_desc_create,
            k.FORWARD_TRAINING,
            k.CONVOLUTION_DIRECT,
            self.x_any if x_md is None else x_md,
            self.w_any,
            self.b if bias else None,
            self.y_any,
            *self.spatial,
            attr=attr,
        )


def _what(op, x_shape, w_shape, stride, padding, dilation, groups) -> str:
    return (
        f"convolution {op} ({describe(x=x_shape, w=w_shape)}, stride {stride}, "
        f"padding {padding}, dilation {dilation}, groups {groups})"
    )


def _output(plan: Plan, name: str, user_md, got, shape, blocked: bool):
    """The memory the primitive writes ``name`` into: its own blocked layout kept (``blocked``
    and a layout :mod:`blocked` knows: no reorder; ``plan.<name>_tag`` says which) or the
    caller's NCHW array through a reorder."""
    tag = bl.tag_of(plan, got, shape) if blocked else None
    setattr(plan, f"{name}_tag", tag)
    setattr(plan, f"{name}_nbytes", plan.nbytes(got))
    return plan.out_of(name, got if tag is not None else user_md, got)


def _forward_plan(
    x_shape, w_shape, bias, stride, padding, dilation, groups, x_tag, blocked, post, addend_tag,
    channels_last,
):  # fmt: skip
    plan = Plan(_what("forward", x_shape, w_shape, stride, padding, dilation, groups))
    if post:
        plan.what += f" then {' and '.join(p[0] for p in post)}"
    if channels_last:
        plan.what += ", NHWC"
    g = _Geometry(
        plan, x_shape, w_shape, stride, padding, dilation, groups, x_tag, k.TAG_NCHW,
        channels_last,
    )  # fmt: skip
    attr, post_args = attributes(plan, post, g.y_shape, addend_tag) if post else (None, {})
    pd = g.forward_pd(plan, bias, attr=attr)
    plan.impl_name = plan.impl(pd)
    if post and plan.impl_name.startswith("ref"):
        # measured: a plain NCHW addend with the output in oneDNN's choice of layout got
        # ref:any, 1.2 s instead of 1 ms for a 128 x 32 x 16 x 16 conv
        raise ValueError(f"{plan.what}: oneDNN has only its reference kernel for this")
    dst = plan.query(pd, k.QUERY_DST_MD)
    args = {
        **post_args,
        k.ARG_SRC: plan.into("x", g.x_user, plan.query(pd, k.QUERY_SRC_MD)),
        k.ARG_WEIGHTS: plan.into("w", g.w_user, plan.query(pd, k.QUERY_WEIGHTS_MD)),
        k.ARG_DST: _output(plan, "y", g.y_user, dst, g.y_shape, blocked),
    }
    if bias:
        args[k.ARG_BIAS] = plan.user("b", g.b)
    plan.step(pd, args)
    plan.x_shape, plan.w_shape, plan.y_shape = g.x_shape, g.w_shape, g.y_shape
    return plan


def _data_plan(x_shape, w_shape, stride, padding, dilation, groups, gy_tag, blocked):
    plan = Plan(_what("backward data", x_shape, w_shape, stride, padding, dilation, groups))
    g = _Geometry(
        plan, x_shape, w_shape, stride, padding, dilation, groups, k.TAG_NCHW, gy_tag,
        gy_tag == k.TAG_NHWC,  # a gradient in NHWC: its forward ran there, so does this
    )  # fmt: skip
    # with under 4 input channels the blocked gradient pads them to 16: writing plain NCHW
    # is 1.7x (3 channels) to 11x (1 channel) faster; from 4 on blocked wins
    plain = x_shape[1] < PLAIN_GRAD_BELOW and groups == 1
    x_md = g.x_user if plain else g.x_any
    hint = g.forward_pd(plan, False, x_md)
    pd = plan.pd(
        plan.lib.dnnl_convolution_backward_data_primitive_desc_create,
        k.CONVOLUTION_DIRECT,
        x_md,
        g.w_any,
        g.y_any,
        *g.spatial,
        hint,
    )
    diff_src = plan.query(pd, k.QUERY_DIFF_SRC_MD)
    args = {
        k.ARG_DIFF_DST: plan.into("gy", g.y_user, plan.query(pd, k.QUERY_DIFF_DST_MD)),
        k.ARG_WEIGHTS: plan.into("w", g.w_user, plan.query(pd, k.QUERY_WEIGHTS_MD)),
        k.ARG_DIFF_SRC: _output(plan, "gx", g.x_user, diff_src, g.x_shape, blocked and not plain),
    }
    plan.step(pd, args)
    plan.x_shape, plan.w_shape, plan.y_shape = g.x_shape, g.w_shape, g.y_shape
    return plan


def _weights_plan(x_shape, w_shape, bias, stride, padding, dilation, groups, x_tag, gy_tag):
    plan = Plan(_what("backward weights", x_shape, w_shape, stride, padding, dilation, groups))
    g = _Geometry(
        plan, x_shape, w_shape, stride, padding, dilation, groups, x_tag, gy_tag,
        k.TAG_NHWC in (x_tag, gy_tag),  # as the forward ran
    )  # fmt: skip
    hint = g.forward_pd(plan, bias)
    pd = plan.pd(
        plan.lib.dnnl_convolution_backward_weights_primitive_desc_create,
        k.CONVOLUTION_DIRECT,
        g.x_any,
        g.w_any,
        g.b if bias else None,
        g.y_any,
        *g.spatial,
        hint,
    )
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
    return tuple(int(i) for i in v)


def forward_plan(
    x_shape,
    w_shape,
    bias,
    stride,
    padding,
    dilation,
    groups,
    x_tag=k.TAG_NCHW,
    blocked=False,
    post=(),
    addend_tag=k.TAG_NCHW,
    channels_last=False,
) -> Plan:
    """This thread's cached forward plan for one configuration (built on first use):
    x arrives in layout ``x_tag``; with ``blocked`` y may stay in the primitive's layout;
    ``post`` (see :func:`check_post`) is applied as y is written, its addend in layout
    ``addend_tag``; ``channels_last`` runs the convolution on NHWC images."""
    a = _ints(x_shape), _ints(w_shape), bool(bias), _ints(stride), _ints(padding)
    a += (_ints(dilation), int(groups), int(x_tag), bool(blocked), check_post(post))
    adds = any(p[0] == "add" for p in post)
    a += (int(k.TAG_NCHW if addend_tag is None else addend_tag) if adds else 0,)
    a += (bool(channels_last),)
    return cached(("conv_fwd", *a), lambda: _forward_plan(*a))


def data_plan(
    x_shape, w_shape, stride, padding, dilation, groups, gy_tag=k.TAG_NCHW, blocked=False
) -> Plan:
    """This thread's cached backward-data plan for one configuration."""
    a = _ints(x_shape), _ints(w_shape), _ints(stride), _ints(padding), _ints(dilation)
    a += (int(groups), int(gy_tag), bool(blocked))
    return cached(("conv_bwd_data", *a), lambda: _data_plan(*a))


def weights_plan(
    x_shape, w_shape, bias, stride, padding, dilation, groups, x_tag=k.TAG_NCHW, gy_tag=k.TAG_NCHW
) -> Plan:
    """This thread's cached backward-weights plan for one configuration."""
    a = _ints(x_shape), _ints(w_shape), bool(bias), _ints(stride), _ints(padding)
    a += (_ints(dilation), int(groups), int(x_tag), int(gy_tag))
    return cached(("conv_bwd_weights", *a), lambda: _weights_plan(*a))


def _result(plan: Plan, name: str, shape):
    return bl.empty(shape, getattr(plan, f"{name}_tag"), getattr(plan, f"{name}_nbytes"))


def conv2d_forward(
    x,
    w,
    b=None,
    *,
    stride,
    padding,
    dilation,
    groups: int,
    blocked: bool = False,
    post=(),
    addend=None,
    channels_last: bool = False,
):
    """``y = x ⋆ w + b`` (cross-correlation, as ``torch.nn.functional.conv2d``). ``x`` may
    be a :class:`~cnnlab.kernels.onednn.blocked.Blocked`; with ``blocked`` so may ``y``.

    ``post`` (inference): what to apply to y as it is written, in order (:func:`check_post`):
    ``("add",)`` adds ``addend`` (y's shape, NCHW or Blocked), then ``("relu",)`` or
    ``("hardtanh", lo, hi)``. oneDNN's activations turn NaN into a number (PyTorch's keep
    it), so where x, w, b or the addend is not finite the same result is computed the exact
    way instead: the convolution, the add, and the activations' NaN-keeping kernels.

    ``channels_last`` runs it on NHWC images (oneDNN's brgemm kernels: faster than its
    channel-blocked ones for inference, slower in training; see :data:`CHANNELS_LAST`).

    Shape: x ``(N, C, H, W)``, w ``(O, C/groups, KH, KW)``, b ``(O,)`` or None ->
    ``(N, O, OH, OW)``.
    """
    x = bl.image(x, "x", "conv2d_forward")
    w = as_f32(w, "w", "conv2d_forward")
    b = None if b is None else as_f32(b, "b", "conv2d_forward")
    post = check_post(post)
    adds = bool(post) and post[0][0] == "add"
    if adds != (addend is not None):
        raise ValueError("conv2d_forward: an addend is needed exactly when post adds one")
    if adds:
        addend = bl.image(addend, "addend", "conv2d_forward")
    geo = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    geo["channels_last"] = bool(channels_last)
    if post and post[-1][0] != "add" and not finite(x, w, b, addend):
        return step_by_step(x, w, b, post, addend, geo, blocked)
    if adds and type(addend) is not bl.Blocked:
        # into the layout the convolution writes (a post-op add reads its addend in the
        # output's layout; a plain one sends oneDNN to its reference kernel)
        own = forward_plan(x.shape, w.shape, b is not None, **geo, x_tag=bl.layout_tag(x),
                           blocked=True).y_tag  # fmt: skip
        if own is not None:
            addend = bl.from_dense(addend, own)
    tag = bl.layout_tag(addend) if adds else k.TAG_NCHW
    key = (tuple(x.shape), tuple(w.shape), b is not None, bl.layout_tag(x), blocked, post, tag)
    key += tuple(tuple(v) if isinstance(v, (tuple, list)) else v for v in geo.values())
    if key in SLOW_CHAINS:
        return step_by_step(x, w, b, post, addend, geo, blocked)
    try:
        plan = forward_plan(
            x.shape, w.shape, b is not None, **geo, x_tag=bl.layout_tag(x), blocked=blocked,
            post=post, addend_tag=tag,
        )  # fmt: skip
    except (ValueError, OneDNNError):
        if not post:  # the convolution itself: its own error
            raise
        SLOW_CHAINS.add(key)  # no fast kernel for this chain: one step at a time
        return step_by_step(x, w, b, post, addend, geo, blocked)
    y = _result(plan, "y", plan.y_shape)
    if adds and tuple(addend.shape) != tuple(plan.y_shape):
        raise ValueError(f"conv2d_forward: addend {addend.shape}, output {plan.y_shape}")
    arrays = {"x": bl.raw(x), "w": w, "y": bl.raw(y)}
    if b is not None:
        arrays["b"] = b
    if adds:
        arrays["addend"] = bl.raw(addend)
    plan.run(**arrays)
    return y


def conv2d_backward_data(
    gy, w, *, x_shape, stride, padding, dilation, groups: int, blocked: bool = False
):
    """``dL/dx``: the transposed convolution of ``gy`` with ``w`` (``x_shape`` fixes the
    rows and columns a strided forward never read, which get zero). ``gy`` may be a
    Blocked; with ``blocked`` so may the result.

    Shape: gy ``(N, O, OH, OW)``, w ``(O, C/groups, KH, KW)`` -> ``x_shape``.
    """
    gy = bl.image(gy, "gy", "conv2d_backward_data")
    w = as_f32(w, "w", "conv2d_backward_data")
    plan = data_plan(
        x_shape, w.shape, stride, padding, dilation, groups, bl.layout_tag(gy), blocked
    )
    _check_gy(plan, gy)
    gx = _result(plan, "gx", plan.x_shape)
    plan.run(gy=bl.raw(gy), w=w, gx=bl.raw(gx))
    return gx


def conv2d_backward_weights(
    x, gy, *, w_shape, stride, padding, dilation, groups: int, bias: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """``dL/dw`` (the correlation of ``x`` with ``gy`` over the batch) and, with ``bias``,
    ``dL/db = sum of gy over N, OH, OW``. ``x`` and ``gy`` may be Blocked.

    Shape: x ``(N, C, H, W)``, gy ``(N, O, OH, OW)`` -> gw ``w_shape``, gb ``(O,)`` or None.
    """
    x = bl.image(x, "x", "conv2d_backward_weights")
    gy = bl.image(gy, "gy", "conv2d_backward_weights")
    plan = weights_plan(
        x.shape,
        w_shape,
        bias,
        stride,
        padding,
        dilation,
        groups,
        bl.layout_tag(x),
        bl.layout_tag(gy),
    )
    _check_gy(plan, gy)
    gw = np.empty(plan.w_shape, np.float32)
    gb = np.empty(plan.w_shape[0], np.float32) if bias else None
    arrays = {"x": bl.raw(x), "gy": bl.raw(gy), "gw": gw}
    if bias:
        arrays["gb"] = gb
    plan.run(**arrays)
    return gw, gb


def _check_gy(plan: Plan, gy) -> None:
    if tuple(gy.shape) != plan.y_shape:
        raise ValueError(f"{plan.what}: expected gy of shape {plan.y_shape}, got {gy.shape}")

"""2-D convolution through oneDNN: forward, gradient of the input, gradient of the weights.

The images go to the primitives as NHWC (channels last): oneDNN's brgemm kernels run there
without reordering between consecutive layers, and NHWC is a layout a NumPy array can have
(an NCHW-shaped array with NHWC strides, :mod:`arrays`). So each image argument is read in
the layout its strides say (an NCHW one is reordered inside the call) and each image result
is an NHWC-strided array, which the next convolution, batch norm, pooling or ReLU takes as it
is, and NumPy reads as any array. The weights get format ``any``: the plan reorders OIHW into
the primitive's blocked weights inside the call.

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
from cnnlab.kernels.onednn import constants as k
from cnnlab.kernels.onednn.arrays import as_f32, describe
from cnnlab.kernels.onednn.conv_layout import inner_tag
from cnnlab.kernels.onednn.conv_post import SLOW_CHAINS, attributes, check_post, step_by_step
from cnnlab.kernels.onednn.eltwise import SUMMED, sums_step
from cnnlab.kernels.onednn.library import OneDNNError
from cnnlab.kernels.onednn.plan import Plan, cached, dims
from cnnlab.kernels.onednn.reorder import relayout

__all__ = [
    "conv2d_backward_data",
    "conv2d_backward_weights",
    "conv2d_forward",
    "data_plan",
    "forward_plan",
    "weights_plan",
]

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

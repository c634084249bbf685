"""Batch normalisation through oneDNN: training forward, inference, backward.

An NHWC-strided image (what the convolutions write, :mod:`arrays`) runs oneDNN's JIT kernel
in its own layout and gives NHWC results. On plain NCHW oneDNN runs a slow generic kernel;
its JIT kernel on the channel-blocked layout (nChw16c with AVX-512 from 32 channels, else
nChw8c) is faster, so the plan reorders an NCHW image into it and the result back, inside
the call (measured in benchmarks/onednn_ops.py). Inputs of 2 or 3 dims are viewed as
``(N, C, 1, L)``.
"""

from __future__ import annotations

import numpy as np

from cnnlab.kernels.onednn import arrays
from cnnlab.kernels.onednn import constants as k
from cnnlab.kernels.onednn.affine import channel_affine, one_pixel_batch
from cnnlab.kernels.onednn.arrays import as_f32, describe
from cnnlab.kernels.onednn.library import avx512
from cnnlab.kernels.onednn.plan import Plan, cached

__all__ = [
    "batch_norm_backward",
    "batch_norm_inference",
    "batch_norm_inference_backward",
    "batch_norm_inference_primitive",
    "batch_norm_train_forward",
]


def _blocked_tag(channels: int) -> int:
    # 16-channel blocks suit AVX-512, but with a single block the kernel splits the image
    # over the threads and stalls at its barriers: 8-channel blocks there (ResNet-20's 16
    # channels: 10 ms of CPU per training pass instead of 30; from 32 channels on, level)
    return k.TAG_NCHW16C if avx512() and channels >= 32 else k.TAG_NCHW8C


def _as4(x: np.ndarray) -> np.ndarray:
    if x.ndim == 4:
        return x
    if x.ndim < 2:
        raise ValueError(f"oneDNN batch norm: expected at least 2 dims (N, C, ...), got {x.shape}")
    return x.reshape(x.shape[0], x.shape[1], 1, -1)


def _flags(scale: bool, shift: bool) -> int:
    return (k.USE_SCALE if scale else 0) | (k.USE_SHIFT if shift else 0)


def _inner_tag(shape, *tags) -> int:
    """The layout the primitive runs on: NHWC where an image comes in NHWC (no reorder),
    else the channel-blocked one for this channel count (two reorders inside the call)."""
    return k.TAG_NHWC if k.TAG_NHWC in tags else _blocked_tag(shape[1])


# Threads: training batch norm on NHWC runs on all of oneDNN's threads. Its kernel
# synchronises them by spinning at barriers of its own, many times a call, so on a loaded
# machine a descheduled thread costs the other its whole wait in CPU; on a quiet one two
# threads halve the time. Measured 2026-12-07 on 2 cores of an AVX-512 EPYC (load 7), each
# setting in its own process, forward + backward, ms: 128 x 16 x 32 x 32 wall minimum 1.5-2.3
# on one thread against 0.56-0.73 on two (median CPU 1.9-3.4 against 4.0-10.7), 128 x 32 x
# 16 x 16 0.50-0.56 against 0.30-0.31, 32 x 144 x 24 x 24 2.0-3.1 against 0.7-1.7 (CPU
# 2.6-3.8 against 6-38), 32 x 96 x 48 x 48 16-27 against 17-21. The previous choice (one
# thread, from CPU time on a loaded AVX2 machine: 46 ms against 2 for ResNet-20's forward)
# cost a quiet machine that factor of two.


class _Layout:
    """The descriptors of one image shape: the caller's (``user``, in the layout the
    arrays come in) and the primitive's (``inner``)."""

    def __init__(self, plan: Plan, shape, inner_tag: int):
        self.shape, self.inner_tag = shape, inner_tag
        self.inner = plan.md(shape, inner_tag)
        self.vec = plan.md(shape[1:2], k.TAG_X)

    def user(self, plan: Plan, tag: int):
        return self.inner if tag == self.inner_tag else plan.md(self.shape, tag)


def _forward_pd(plan: Plan, lo: _Layout, prop: int, eps: float, flags: int):
    fn = plan.lib.dnnl_batch_normalization_forward_primitive_desc_create
    return plan.pd(fn, prop, lo.inner, lo.inner, float(eps), flags)


def _params(plan: Plan, lo: _Layout, scale: bool, shift: bool, args: dict) -> None:
    if scale:
        args[k.ARG_SCALE] = plan.user("weight", lo.vec)
    if shift:
        args[k.ARG_SHIFT] = plan.user("bias", lo.vec)


def _forward_plan(shape, scale, shift, eps, training, x_tag) -> Plan:
    mode = "training" if training else "inference"
    plan = Plan(f"batch norm forward {mode} ({describe(x=shape)}, eps {eps})")
    lo = _Layout(plan, shape, _inner_tag(shape, x_tag))
    flags = _flags(scale, shift) | (0 if training else k.USE_GLOBAL_STATS)
    prop = k.FORWARD_TRAINING if training else k.FORWARD_INFERENCE
    pd = _forward_pd(plan, lo, prop, eps, flags)
    args = {
        k.ARG_SRC: plan.into("x", lo.user(plan, x_tag), lo.inner),
        k.ARG_MEAN: plan.user("mean", lo.vec),
        k.ARG_VARIANCE: plan.user("var", lo.vec),
        k.ARG_DST: plan.out_of("y", lo.user(plan, x_tag), lo.inner),  # in x's layout
    }
    _params(plan, lo, scale, shift, args)
    plan.step(pd, args)
    return plan


def _backward_plan(shape, scale, shift, eps, x_tag, gy_tag, stats=False) -> Plan:
    # stats: the given (running) statistics are constants, as in eval (use_global_stats)
    mode = "eval " if stats else ""
    plan = Plan(f"batch norm {mode}backward ({describe(x=shape)}, eps {eps})")
    lo = _Layout(plan, shape, _inner_tag(shape, x_tag, gy_tag))
    flags = _flags(scale, shift) | (k.USE_GLOBAL_STATS if stats else 0)
    hint = _forward_pd(plan, lo, k.FORWARD_TRAINING, eps, flags)
    pd = plan.pd(
        plan.lib.dnnl_batch_normalization_backward_primitive_desc_create,
        k.BACKWARD if scale or shift else k.BACKWARD_DATA,
        lo.inner,
        lo.inner,
        lo.inner,
        float(eps),
        flags,
        hint,
    )
    args = {
        k.ARG_SRC: plan.into("x", lo.user(plan, x_tag), lo.inner),
        k.ARG_DIFF_DST: plan.into("gy", lo.user(plan, gy_tag), lo.inner),
        k.ARG_MEAN: plan.user("mean", lo.vec),
        k.ARG_VARIANCE: plan.user("var", lo.vec),
        k.ARG_DIFF_SRC: plan.out_of("gx", lo.user(plan, x_tag), lo.inner),  # x's layout
    }
    _params(plan, lo, scale, False, args)
    if scale:
        args[k.ARG_DIFF_SCALE] = plan.user("gweight", lo.vec)
    if shift:
        args[k.ARG_DIFF_SHIFT] = plan.user("gbias", lo.vec)
    plan.step(pd, args)
    return plan


def forward_plan(shape, scale: bool, shift: bool, eps: float, training: bool, x_tag=k.TAG_NCHW):
    """This thread's cached forward plan for one configuration (built on first use): x
    arrives, and y leaves, in layout ``x_tag``."""
    a = tuple(int(v) for v in shape), bool(scale), bool(shift), float(eps), bool(training)
    a += (int(x_tag),)
    return cached(("bn_fwd", *a), lambda: _forward_plan(*a))


def _vectors(what: str, c: int, **vs) -> dict:
    out = {}
    for name, v in vs.items():
        if v is None:
            continue
        v = as_f32(v, name, what)
        if v.shape != (c,):
            raise ValueError(f"oneDNN {what}: expected {name} of shape ({c},), got {v.shape}")
        out[name] = v
    return out


def _image(x, what: str):
    """``x`` as the kernels take it (NCHW or NHWC, float32), and its 4-D view."""
    x = arrays.image(x, "x", what)
    return x, _as4(x)


def batch_norm_train_forward(x, weight, bias, *, eps: float):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` with the batch's per-channel
    mean and *biased* variance (over N, H, W), which are returned for backward and for the
    caller's running statistics (unbiased: ``var * m / (m - 1)``, ``m = N*H*W``).

    Shape: x ``(N, C, H, W)`` (or ``(N, C)``, ``(N, C, L)``), weight/bias ``(C,)`` or None
    -> y like x (and in x's layout), mean ``(C,)``, var ``(C,)``.
    """
    x, x4 = _image(x, "batch_norm_train_forward")
    c = x4.shape[1]
    vs = _vectors("batch_norm_train_forward", c, weight=weight, bias=bias)
    tag = arrays.tag(x4)
    y = arrays.empty(x4.shape, tag)
    mean, var = np.empty(c, np.float32), np.empty(c, np.float32)
    plan = forward_plan(x4.shape, weight is not None, bias is not None, eps, True, tag)
    plan.run(x=x4, y=y, mean=mean, var=var, **vs)
    return (y if x4 is x else y.reshape(x.shape)), mean, var


def batch_norm_inference(x, weight, bias, mean, var, *, eps: float):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` with given (running) statistics.
    On NCHW it runs as the per-channel affine map ``x * scale + shift`` with ``scale =
    weight / sqrt(var + eps)`` and ``shift = bias - mean * scale`` (one pass, see affine.py);
    on NHWC as the batch-norm primitive in that layout.

    Shape: x ``(N, C, H, W)`` (or 2-D, 3-D), weight/bias/mean/var ``(C,)`` or weight/bias
    None -> like x, in x's layout.
    """
    x, x4 = _image(x, "batch_norm_inference")
    if arrays.is_nhwc(x4) or one_pixel_batch(x4.shape):
        # (one-pixel images: the affine map's post-op misreads them)
        return batch_norm_inference_primitive(x, weight, bias, mean, var, eps=eps)
    c = x4.shape[1]
    vs = _vectors("batch_norm_inference", c, weight=weight, bias=bias, mean=mean, var=var)
    scale = 1.0 / np.sqrt(vs["var"] + np.float32(eps))
    if "weight" in vs:
        scale *= vs["weight"]
    shift = -vs["mean"] * scale
    if "bias" in vs:
        shift += vs["bias"]
    y = channel_affine(x4, scale.astype(np.float32), shift.astype(np.float32))
    return y.reshape(x.shape)


def batch_norm_inference_primitive(x, weight, bias, mean, var, *, eps: float):
    """:func:`batch_norm_inference` through oneDNN's batch-norm primitive (an NCHW x is
    reordered to the blocked layout and back inside: benchmarks/onednn_ops.py compares; an
    NHWC x runs in its own layout)."""
    x, x4 = _image(x, "batch_norm_inference")
    c = x4.shape[1]
    vs = _vectors("batch_norm_inference", c, weight=weight, bias=bias, mean=mean, var=var)
    tag = arrays.tag(x4)
    y = arrays.empty(x4.shape, tag)
    # no statistics pass: all the threads (measured: ResNet-20 inference on one thread for
    # batch norm 1.18x the wall time)
    plan = forward_plan(x4.shape, weight is not None, bias is not None, eps, False, tag)
    plan.run(x=x4, y=y, **vs)
    return y if x4 is x else y.reshape(x.shape)


def batch_norm_backward(gy, x, weight, mean, var, *, eps: float, bias: bool | None = None):
    """Gradients of training batch norm, with ``x̂ = (x - mean) / sqrt(var + eps)``:
    ``dL/dbias = Σ gy``, ``dL/dweight = Σ gy·x̂`` (sums over N, H, W) and
    ``dL/dx = weight / sqrt(var + eps) · (gy - mean(gy) - x̂ · mean(gy·x̂))``.
    ``bias`` says whether the layer has a bias (default: as it has a weight).

    Shape: gy, x ``(N, C, H, W)``, weight/mean/var ``(C,)`` -> gx like x (in x's layout),
    gweight ``(C,)`` or None, gbias ``(C,)`` or None.
    """
    return _backward("batch_norm_backward", gy, x, weight, mean, var, eps, bias, False)


def batch_norm_inference_backward(
    gy, x, weight, mean, var, *, eps: float, bias: bool | None = None
):
    """Gradients of :func:`batch_norm_inference`, whose statistics are constants:
    ``dL/dx = weight / sqrt(var + eps) · gy``, ``dL/dweight = Σ gy·x̂``, ``dL/dbias = Σ gy``
    (oneDNN's backward with ``use_global_stats``). Shapes and layouts as
    :func:`batch_norm_backward`."""
    what = "batch_norm_inference_backward"
    return _backward(what, gy, x, weight, mean, var, eps, bias, True)


def _backward(what, gy, x, weight, mean, var, eps, bias, stats):
    if tuple(gy.shape) != tuple(x.shape):
        raise ValueError(f"oneDNN {what}: gy {gy.shape} and x {x.shape} differ")
    (x, x4), (gy, gy4) = _image(x, what), _image(gy, what)
    c = x4.shape[1]
    scale, shift = weight is not None, (weight is not None) if bias is None else bool(bias)
    vs = _vectors(what, c, weight=weight, mean=mean, var=var)
    a = tuple(x4.shape), scale, shift, float(eps)
    a += (arrays.tag(x4), arrays.tag(gy4), bool(stats))
    gx = arrays.empty(x4.shape, arrays.tag(x4))
    gw = np.empty(c, np.float32) if scale else None
    gb = np.empty(c, np.float32) if shift else None
    outs = {n: v for n, v in (("gweight", gw), ("gbias", gb)) if v is not None}
    plan = cached(("bn_bwd", *a), lambda: _backward_plan(*a))
    plan.run(x=x4, gy=gy4, gx=gx, **vs, **outs)
    return (gx if x4 is x else gx.reshape(x.shape)), gw, gb

"""Batch normalisation through oneDNN: training forward, inference, backward.

oneDNN's batch norm on plain NCHW runs a slow generic kernel; on the channel-blocked layout
(nChw16c with AVX-512 from 32 channels, else nChw8c) its JIT kernel is faster, so the plan
reorders the image in and the result out around it (see ``BLOCKED``, measured in
benchmarks/onednn_ops.py). Inputs of 2 or 3 dims are viewed as ``(N, C, 1, L)``.
"""

from __future__ import annotations

import numpy as np

from cnnlab.kernels.onednn import blocked as bl
from cnnlab.kernels.onednn import constants as k
from cnnlab.kernels.onednn.affine import channel_affine, one_pixel_batch
from cnnlab.kernels.onednn.arrays import as_f32, describe
from cnnlab.kernels.onednn.library import require
from cnnlab.kernels.onednn.plan import Plan, cached

__all__ = [
    "batch_norm_backward",
    "batch_norm_inference",
    "batch_norm_inference_backward",
    "batch_norm_inference_blocked",
    "batch_norm_train_forward",
]

BLOCKED = True  # reorder NCHW to the channel-blocked layout around the primitive


def _blocked_tag(channels: int) -> int:
    # 16-channel blocks suit AVX-512, but with a single block the kernel splits the image
    # over the threads and stalls at its barriers: 8-channel blocks there (ResNet-20's 16
    # channels: 10 ms of CPU per training pass instead of 30; from 32 channels on, level)
    avx512 = require().dnnl_get_effective_cpu_isa() >= 39  # dnnl_cpu_isa_avx512_core
    return k.TAG_NCHW16C if avx512 and channels >= 32 else k.TAG_NCHW8C


def _as4(x: np.ndarray) -> np.ndarray:
    if x.ndim == 4:
        return x
    if x.ndim < 2:
        raise ValueError(f"oneDNN batch norm: expected at least 2 dims (N, C, ...), got {x.shape}")
    return x.reshape(x.shape[0], x.shape[1], 1, -1)


def _flags(scale: bool, shift: bool) -> int:
    return (k.USE_SCALE if scale else 0) | (k.USE_SHIFT if shift else 0)


def _inner_tag(shape, blocked: bool, *tags) -> int:
    """The layout the primitive runs on: that of a blocked input (no reorder), else the
    channel-blocked one for this channel count (``blocked``), else NCHW. On 16 channels the
    convs' nChw16c makes batch norm itself slower than nChw8c (forward + backward of
    128 x 16 x 32 x 32 on 2 threads: 21-26 ms against 13-15 ms with the reorders to nChw8c),
    but the whole ResNet-20 training step is faster without the reorders: 267-289 ms per
    step against 263-323 (nChw8c out) and 296-411 (nChw8c inside, nChw16c out), three
    interleaved runs each, 2026-12-02."""
    for tag in tags:
        if tag in bl.BLOCKED_TAGS:
            return tag
    return _blocked_tag(shape[1]) if blocked else k.TAG_NCHW


class _Layout:
    """The descriptors of one image shape: the caller's (``user``: NCHW, or the layout a
    blocked input comes in) and the primitive's (``inner``)."""

    def __init__(self, plan: Plan, shape, inner_tag: int):
        self.shape, self.inner_tag = shape, inner_tag
        self.nchw = plan.md(shape, k.TAG_NCHW)
        self.inner = plan.md(shape, inner_tag)
        self.vec = plan.md(shape[1:2], k.TAG_X)

    def user(self, plan: Plan, tag: int):
        return self.inner if tag == self.inner_tag else plan.md(self.shape, tag)

    def output(self, plan: Plan, name: str, blocked: bool):
        """The memory the primitive writes ``name`` into (kept blocked with ``blocked``)."""
        keep = blocked and self.inner_tag in bl.BLOCKED_TAGS
        plan.out_tag = self.inner_tag if keep else None
        plan.out_nbytes = plan.nbytes(self.inner)
        return plan.out_of(name, self.inner if keep else self.nchw, self.inner)


def _forward_pd(plan: Plan, lo: _Layout, prop: int, eps: float, flags: int):
    fn = plan.lib.dnnl_batch_normalization_forward_primitive_desc_create
    return plan.pd(fn, prop, lo.inner, lo.inner, float(eps), flags)


def _params(plan: Plan, lo: _Layout, scale: bool, shift: bool, args: dict) -> None:
    if scale:
        args[k.ARG_SCALE] = plan.user("weight", lo.vec)
    if shift:
        args[k.ARG_SHIFT] = plan.user("bias", lo.vec)


def _forward_plan(shape, scale, shift, eps, training, blocked, x_tag, keep) -> Plan:
    mode = "training" if training else "inference"
    plan = Plan(f"batch norm forward {mode} ({describe(x=shape)}, eps {eps})")
    lo = _Layout(plan, shape, _inner_tag(shape, blocked, x_tag))
    flags = _flags(scale, shift) | (0 if training else k.USE_GLOBAL_STATS)
    prop = k.FORWARD_TRAINING if training else k.FORWARD_INFERENCE
    pd = _forward_pd(plan, lo, prop, eps, flags)
    args = {
        k.ARG_SRC: plan.into("x", lo.user(plan, x_tag), lo.inner),
        k.ARG_MEAN: plan.user("mean", lo.vec),
        k.ARG_VARIANCE: plan.user("var", lo.vec),
        k.ARG_DST: lo.output(plan, "y", keep),
    }
    _params(plan, lo, scale, shift, args)
    plan.step(pd, args)
    return plan


def _backward_plan(shape, scale, shift, eps, blocked, x_tag, gy_tag, keep, stats=False) -> Plan:
    # stats: the given (running) statistics are constants, as in eval (use_global_stats)
    mode = "eval " if stats else ""
    plan = Plan(f"batch norm {mode}backward ({describe(x=shape)}, eps {eps})")
    lo = _Layout(plan, shape, _inner_tag(shape, blocked, x_tag, gy_tag))
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
        k.ARG_DIFF_SRC: lo.output(plan, "gx", keep),
    }
    _params(plan, lo, scale, False, args)
    if scale:
        args[k.ARG_DIFF_SCALE] = plan.user("gweight", lo.vec)
    if shift:
        args[k.ARG_DIFF_SHIFT] = plan.user("gbias", lo.vec)
    plan.step(pd, args)
    return plan


def forward_plan(
    shape, scale: bool, shift: bool, eps: float, training: bool, x_tag=k.TAG_NCHW, keep=False
) -> Plan:
    """This thread's cached forward plan for one configuration (built on first use): x
    arrives in layout ``x_tag``; with ``keep`` y stays in the primitive's blocked layout."""
    a = tuple(int(v) for v in shape), bool(scale), bool(shift), float(eps), bool(training)
    a += (BLOCKED, int(x_tag), bool(keep))
    return cached(("bn_fwd", *a), lambda: _forward_plan(*a))


def _result(plan: Plan, shape):
    return bl.empty(shape, plan.out_tag, plan.out_nbytes)


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


def batch_norm_train_forward(x, weight, bias, *, eps: float, blocked: bool = False):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` with the batch's per-channel
    mean and *biased* variance (over N, H, W), which are returned for backward and for the
    caller's running statistics (unbiased: ``var * m / (m - 1)``, ``m = N*H*W``).

    Shape: x ``(N, C, H, W)`` (or ``(N, C)``, ``(N, C, L)``), weight/bias ``(C,)`` or None
    -> y like x, mean ``(C,)``, var ``(C,)``. ``x`` may be a Blocked; with ``blocked``
    so may y.
    """
    x = bl.image(x, "x", "batch_norm_train_forward")
    x4 = _as4(x)
    c = x4.shape[1]
    vs = _vectors("batch_norm_train_forward", c, weight=weight, bias=bias)
    tag = bl.layout_tag(x4)
    plan = forward_plan(x4.shape, weight is not None, bias is not None, eps, True, tag, blocked)
    y = _result(plan, x4.shape)
    mean, var = np.empty(c, np.float32), np.empty(c, np.float32)
    plan.run(x=bl.raw(x4), y=bl.raw(y), mean=mean, var=var, **vs)
    if type(y) is bl.Blocked:
        # a NaN (or inf) anywhere in a channel makes its batch mean or variance non-finite:
        # finite statistics and parameters leave y without NaN (ReLU then skips its check)
        y.nan_free = bool(np.isfinite(mean).all() and np.isfinite(var).all())
        y.nan_free = y.nan_free and all(bool(np.isfinite(v).all()) for v in vs.values())
    return (y if x4 is x else y.reshape(x.shape)), mean, var


def batch_norm_inference(x, weight, bias, mean, var, *, eps: float, blocked: bool = False):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` with given (running) statistics,
    run as the per-channel affine map ``x * scale + shift`` with ``scale = weight / sqrt(var +
    eps)`` and ``shift = bias - mean * scale`` (one pass over NCHW, see affine.py).

    Shape: x ``(N, C, H, W)`` (or 2-D, 3-D), weight/bias/mean/var ``(C,)`` or weight/bias
    None -> like x. A Blocked ``x`` runs the primitive in its own layout (no reorder), and
    with ``blocked`` the result stays in it.
    """
    if type(x) is bl.Blocked:
        return batch_norm_inference_blocked(x, weight, bias, mean, var, eps=eps, blocked=blocked)
    x = as_f32(x, "x", "batch_norm_inference")
    x4 = _as4(x)
    if one_pixel_batch(x4.shape):  # the affine map's post-op misreads these: the primitive
        return batch_norm_inference_blocked(x, weight, bias, mean, var, eps=eps)
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


def batch_norm_inference_blocked(x, weight, bias, mean, var, *, eps: float, blocked=False):
    """:func:`batch_norm_inference` through oneDNN's batch-norm primitive on the blocked
    layout (for an NCHW x two reorders around it: benchmarks/onednn_ops.py compares; a
    Blocked x runs in its own layout)."""
    x = bl.image(x, "x", "batch_norm_inference")
    x4 = _as4(x)
    c = x4.shape[1]
    vs = _vectors("batch_norm_inference", c, weight=weight, bias=bias, mean=mean, var=var)
    tag = bl.layout_tag(x4)
    plan = forward_plan(x4.shape, weight is not None, bias is not None, eps, False, tag, blocked)
    y = _result(plan, x4.shape)
    plan.run(x=bl.raw(x4), y=bl.raw(y), **vs)
    return y if x4 is x else y.reshape(x.shape)


def batch_norm_backward(
    gy, x, weight, mean, var, *, eps: float, bias: bool | None = None, blocked: bool = False
):
    """Gradients of training batch norm, with ``x̂ = (x - mean) / sqrt(var + eps)``:
    ``dL/dbias = Σ gy``, ``dL/dweight = Σ gy·x̂`` (sums over N, H, W) and
    ``dL/dx = weight / sqrt(var + eps) · (gy - mean(gy) - x̂ · mean(gy·x̂))``.
    ``bias`` says whether the layer has a bias (default: as it has a weight).

    Shape: gy, x ``(N, C, H, W)``, weight/mean/var ``(C,)`` -> gx like x, gweight ``(C,)``
    or None, gbias ``(C,)`` or None. gy and x may be Blocked; with ``blocked`` so may gx.
    """
    return _backward("batch_norm_backward", gy, x, weight, mean, var, eps, bias, blocked, False)


def batch_norm_inference_backward(
    gy, x, weight, mean, var, *, eps: float, bias: bool | None = None, blocked: bool = False
):
    """Gradients of :func:`batch_norm_inference`, whose statistics are constants:
    ``dL/dx = weight / sqrt(var + eps) · gy``, ``dL/dweight = Σ gy·x̂``, ``dL/dbias = Σ gy``
    (oneDNN's backward with ``use_global_stats``). Shapes and layouts as
    :func:`batch_norm_backward`."""
    what = "batch_norm_inference_backward"
    return _backward(what, gy, x, weight, mean, var, eps, bias, blocked, True)


def _backward(what, gy, x, weight, mean, var, eps, bias, blocked, stats):
    gy, x = bl.image(gy, "gy", what), bl.image(x, "x", what)
    if tuple(gy.shape) != tuple(x.shape):
        raise ValueError(f"oneDNN {what}: gy {gy.shape} and x {x.shape} differ")
    x4, gy4 = _as4(x), _as4(gy)
    c = x4.shape[1]
    scale, shift = weight is not None, (weight is not None) if bias is None else bool(bias)
    vs = _vectors(what, c, weight=weight, mean=mean, var=var)
    a = tuple(x4.shape), scale, shift, float(eps), BLOCKED
    a += (bl.layout_tag(x4), bl.layout_tag(gy4), bool(blocked), bool(stats))
    plan = cached(("bn_bwd", *a), lambda: _backward_plan(*a))
    gx = _result(plan, x4.shape)
    gw = np.empty(c, np.float32) if scale else None
    gb = np.empty(c, np.float32) if shift else None
    outs = {n: v for n, v in (("gweight", gw), ("gbias", gb)) if v is not None}
    plan.run(x=bl.raw(x4), gy=bl.raw(gy4), gx=bl.raw(gx), **vs, **outs)
    return (gx if x4 is x else gx.reshape(x.shape)), gw, gb

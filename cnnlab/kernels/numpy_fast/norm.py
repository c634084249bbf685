"""Batch normalisation in as few passes over the data as the maths allows, threaded.

The statistics come from one pass (``E[x^2] - mean^2``, two reductions that write no
array) unless that loses precision (``mean^2`` large against the variance, or an array
that is not contiguous); the output is ``x * scale + shift`` with per-channel constants
folded; backward takes its sums straight from ``g`` and ``x`` (no ``xhat`` array) when the
same condition holds. The formulas are those of :mod:`cnnlab.kernels.reference.norm`.
"""

from __future__ import annotations

from cnnlab.backend import get_array_module
from cnnlab.threads import split_batch

__all__ = [
    "batch_norm_backward",
    "batch_norm_inference",
    "batch_norm_inference_backward",
    "batch_norm_train_forward",
]


def _cs(x) -> tuple:
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _as3(a):
    """``(N, C, ...)`` as ``(N, C, L)`` (a view for contiguous arrays)."""
    return a.reshape(a.shape[0], a.shape[1], -1)


def _sums(a, fn) -> tuple:
    """Per-channel sums ``fn(index)`` over parts of the batch, added in a fixed order."""
    parts = split_batch(fn, a)
    return tuple(sum(p[j] for p in parts) for j in range(len(parts[0])))


def _one_pass_ok(mean, var) -> bool:
    """Whether ``E[x^2] - mean^2`` (and its backward twin) keeps its precision."""
    return bool((mean * mean <= 4 * var).all())


def _batch_stats(x):
    """Per-channel mean and biased variance of ``x`` over every dim but 1."""
    xp = get_array_module(x)
    m = x.size // x.shape[1]
    x3 = _as3(x)
    if x.flags.c_contiguous:
        sum_x, sum_xx = _sums(
            x3, lambda i: (xp.einsum("nci->c", x3[i]), xp.einsum("nci,nci->c", x3[i], x3[i]))
        )
        mean = sum_x / m
        var = sum_xx / m - mean * mean
        if _one_pass_ok(mean, var):
            return mean, var
    else:
        mean = xp.einsum("nci->c", x3) / m
    xc = x3 - mean.reshape(1, -1, 1)
    return mean, xp.einsum("nci,nci->c", xc, xc) / m


def _affine(x, scale, shift):
    """``x * scale + shift`` with per-channel constants, the batch split over threads."""
    xp = get_array_module(x)
    s, t = (v.reshape(_cs(x)).astype(x.dtype, copy=False) for v in (scale, shift))
    y = xp.empty(x.shape, dtype=x.dtype)

    def part(i) -> None:
        xp.multiply(x[i], s, out=y[i])
        y[i] += t

    split_batch(part, x)
    return y


def batch_norm_inference(x, weight, bias, mean, var, *, eps: float):
    """``weight * (x - mean) / sqrt(var + eps) + bias``. Shape: x (N, C, ...), the rest (C,)."""
    xp = get_array_module(x)
    scale = weight / xp.sqrt(var + eps)
    return _affine(x, scale, bias - mean * scale)


def batch_norm_train_forward(x, weight, bias, *, eps: float):
    """``(y, mean, var)`` with the batch's mean and biased variance."""
    mean, var = _batch_stats(x)
    return batch_norm_inference(x, weight, bias, mean, var, eps=eps), mean, var


# dL/dx = weight * invstd * (g - sum(g) / M - xhat * sum(g * xhat) / M)
def batch_norm_backward(gy, x, weight, mean, var, *, eps: float):
    """``(dL/dx, dL/dweight, dL/dbias)`` of the training forward."""
    xp = get_array_module(gy)
    invstd = 1 / xp.sqrt(var + eps)
    k = invstd * weight
    m = x.size // x.shape[1]
    cs = _cs(x)
    if _one_pass_ok(mean, var) and x.flags.c_contiguous:
        # sums straight from g and x: sum(g * xhat) = invstd * (sum(g * x) - mean * sum(g))
        g3, x3 = _as3(gy), _as3(x)
        sum_g, sum_gx = _sums(
            g3, lambda i: (xp.einsum("nci->c", g3[i]), xp.einsum("nci,nci->c", g3[i], x3[i]))
        )
        sum_gxhat = invstd * (sum_gx - mean * sum_g)
        # dL/dx = a * g + b * x + c per channel
        b = -k * invstd * sum_gxhat / m
        c = -k * sum_g / m - b * mean
        gx = xp.empty(gy.shape, dtype=gy.dtype)
        a3, b3, c3 = (v.reshape(cs).astype(gy.dtype, copy=False) for v in (k, b, c))

        def part(i) -> None:
            xp.multiply(gy[i], a3, out=gx[i])
            t = xp.multiply(x[i], b3)
            t += c3
            gx[i] += t

        split_batch(part, gy)
        return gx, sum_gxhat, sum_g
    axes = (0,) + tuple(range(2, x.ndim))
    xhat = x - mean.reshape(cs)
    xhat *= invstd.reshape(cs)
    gx = xhat * gy
    sum_gxhat = gx.sum(axis=axes)
    sum_g = gy.sum(axis=axes)
    xhat *= (sum_gxhat / m).reshape(cs)
    xp.subtract(gy, (sum_g / m).reshape(cs), out=gx)
    gx -= xhat
    gx *= k.reshape(cs)
    return gx, sum_gxhat, sum_g


# dL/dx = weight * invstd * g;  dL/dweight = sum(g * xhat);  dL/dbias = sum(g)
def batch_norm_inference_backward(gy, x, weight, mean, var, *, eps: float):
    """``(dL/dx, dL/dweight, dL/dbias)`` of :func:`batch_norm_inference`."""
    xp = get_array_module(gy)
    invstd = 1 / xp.sqrt(var + eps)
    cs = _cs(x)
    axes = (0,) + tuple(range(2, x.ndim))
    xhat = x - mean.reshape(cs)
    xhat *= invstd.reshape(cs)
    xhat *= gy
    gx = xp.multiply(gy, (invstd * weight).reshape(cs).astype(gy.dtype, copy=False))
    return gx, xhat.sum(axis=axes), gy.sum(axis=axes)

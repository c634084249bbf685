"""Batch normalisation over N, H, W per channel, by its formulas.

``xhat = (x - mean) / sqrt(var + eps)``, ``y = weight * xhat + bias``, with ``M = N*H*W``
values per channel; training takes ``mean`` and the biased ``var`` from the batch.
"""

from __future__ import annotations

from cnnlab.backend import get_array_module

_AXES = (0, 2, 3)


def _c(v):
    """A per-channel (C,) vector shaped to broadcast over NCHW."""
    return v.reshape(1, -1, 1, 1)


def batch_norm_train_forward(x, weight, bias, *, eps: float):
    """``(y, mean, var)`` with the batch's mean and biased variance. Shape: x (N, C, H, W),
    weight and bias (C,) -> y like x, mean and var (C,)."""
    mean = x.mean(axis=_AXES)
    var = ((x - _c(mean)) ** 2).mean(axis=_AXES)
    return batch_norm_inference(x, weight, bias, mean, var, eps=eps), mean, var


def batch_norm_inference(x, weight, bias, mean, var, *, eps: float):
    """``weight * (x - mean) / sqrt(var + eps) + bias`` with given statistics."""
    xp = get_array_module(x)
    xhat = (x - _c(mean)) / _c(xp.sqrt(var + eps))
    return _c(weight) * xhat + _c(bias)


# mean and var depend on x too. With g = dL/dy and sums over N, H, W:
#   dL/dbias = sum(g);  dL/dweight = sum(g * xhat);  dL/dxhat = weight * g
#   dL/dx = weight / sqrt(var + eps) * (g - sum(g) / M - xhat * sum(g * xhat) / M)
# (the two subtracted terms are the paths through mean and through var)
def batch_norm_backward(gy, x, weight, mean, var, *, eps: float):
    """``(dL/dx, dL/dweight, dL/dbias)`` of the training forward."""
    xp = get_array_module(gy)
    m = x.size // x.shape[1]
    invstd = 1 / xp.sqrt(var + eps)
    xhat = (x - _c(mean)) * _c(invstd)
    gb = gy.sum(axis=_AXES)
    gw = (gy * xhat).sum(axis=_AXES)
    gx = _c(weight * invstd) * (gy - _c(gb / m) - xhat * _c(gw / m))
    return gx, gw, gb


# mean and var are constants (the running statistics):
#   dL/dx = weight / sqrt(var + eps) * g;  dL/dweight = sum(g * xhat);  dL/dbias = sum(g)
def batch_norm_inference_backward(gy, x, weight, mean, var, *, eps: float):
    """``(dL/dx, dL/dweight, dL/dbias)`` of :func:`batch_norm_inference`."""
    xp = get_array_module(gy)
    invstd = 1 / xp.sqrt(var + eps)
    xhat = (x - _c(mean)) * _c(invstd)
    return _c(weight * invstd) * gy, (gy * xhat).sum(axis=_AXES), gy.sum(axis=_AXES)

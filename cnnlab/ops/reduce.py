"""Reductions: sum, prod, max and their composites (mean, var, min)."""

from __future__ import annotations

from cnnlab import return_types
from cnnlab.autograd import Function
from cnnlab.backend import get_array_module
from cnnlab.ops.pointwise import Maximum, Minimum
from cnnlab.tensor import Tensor


def _axes(dim, ndim):
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return tuple(sorted(d % ndim if ndim else 0 for d in dims))


def _expand_back(g, shape, axes, keepdim):
    """Reinsert the reduced axes of ``g`` and broadcast it to ``shape``."""
    xp = get_array_module(g)
    if not keepdim:
        for ax in axes:
            g = xp.expand_dims(g, ax)
    return xp.broadcast_to(g, shape)


class Sum(Function):
    saves_inputs = False  # backward needs no input values

    @staticmethod
    def forward(x, *, dim=None, keepdim=False):
        axes = _axes(dim, x.ndim)
        y = x.sum(axis=axes, keepdims=keepdim)
        return get_array_module(x).asarray(y), (x.shape, axes, keepdim)

    # dL/dx = g broadcast back over the summed axes
    @staticmethod
    def backward(ctx, g):
        shape, axes, keepdim = ctx
        return (_expand_back(g, shape, axes, keepdim),)


class Prod(Function):
    @staticmethod
    def forward(x, *, dim=None, keepdim=False):
        axes = _axes(dim, x.ndim)
        y = get_array_module(x).asarray(x.prod(axis=axes, keepdims=keepdim))
        return y, (x, axes, keepdim)

    # dL/dx_k = g * prod_{j != k} x_j, from exclusive products from the left and the right
    # (exact where some x_j are zero, unlike g * y / x_k)
    @staticmethod
    def backward(ctx, g):
        x, axes, keepdim = ctx
        xp = get_array_module(x)
        last = tuple(range(x.ndim - len(axes), x.ndim))
        moved = xp.moveaxis(x, axes, last)
        rows = moved.reshape(moved.shape[: x.ndim - len(axes)] + (-1,))
        one = xp.ones(rows.shape[:-1] + (1,), dtype=x.dtype)
        left = xp.cumprod(xp.concatenate([one, rows[..., :-1]], axis=-1), axis=-1)
        flipped = rows[..., ::-1]
        right = xp.cumprod(xp.concatenate([one, flipped[..., :-1]], axis=-1), axis=-1)[..., ::-1]
        others = xp.moveaxis((left * right).reshape(moved.shape), last, axes)
        return (_expand_back(g, x.shape, axes, keepdim) * others,)


class Amax(Function):
    @staticmethod
    def forward(x, *, dim=None, keepdim=False):
        axes = _axes(dim, x.ndim)
        y = x.max(axis=axes, keepdims=True)
        mask = x == y
        out = y if keepdim else y.reshape([n for i, n in enumerate(y.shape) if i not in axes])
        return out, (mask, axes, keepdim)

    # dL/dx = g shared evenly among the tied maxima of each reduced slice (as torch.amax)
    @staticmethod
    def backward(ctx, g):
        mask, axes, keepdim = ctx
        count = mask.sum(axis=axes, keepdims=True)
        g = _expand_back(g, mask.shape, axes, keepdim)
        return (g * mask / count,)


class MaxDim(Function):
    """max along one dim; the gradient goes to the first maximum (the returned index)."""

    @staticmethod
    def forward(x, *, dim, keepdim=False):
        xp = get_array_module(x)
        dim = dim % x.ndim
        idx = xp.expand_dims(x.argmax(axis=dim), dim)
        y = xp.take_along_axis(x, idx, axis=dim)
        if not keepdim:
            y, out_idx = y.squeeze(dim), idx.squeeze(dim)
        else:
            out_idx = idx
        return y, (x.shape, idx, dim, keepdim, out_idx)

    # dL/dx[argmax] = g, 0 elsewhere
    @staticmethod
    def backward(ctx, g):
        shape, idx, dim, keepdim, _ = ctx
        xp = get_array_module(g)
        gx = xp.zeros(shape, dtype=g.dtype)
        if not keepdim:
            g = xp.expand_dims(g, dim)
        xp.put_along_axis(gx, idx, g, axis=dim)
        return (gx,)


def argmax_array(x, dim=None, keepdim=False):
    xp = get_array_module(x)
    if dim is None:
        return xp.asarray(x.argmax())
    idx = x.argmax(axis=dim)
    return xp.expand_dims(idx, dim) if keepdim else idx


def max(x: Tensor, dim=None, keepdim=False):
    """Largest value; with ``dim`` a named pair ``(values, indices)``; with a tensor the
    elementwise maximum, as ``torch.max``."""
    if isinstance(dim, Tensor):
        return Maximum.apply(x, dim)
    if dim is None:
        return Amax.apply(x, dim=None, keepdim=False)
    values, ctx = MaxDim.apply_with_ctx(x, dim=dim, keepdim=keepdim)
    return return_types.max(values, Tensor._make(ctx[4], False))


def min(x: Tensor, dim=None, keepdim=False):
    if isinstance(dim, Tensor):
        return Minimum.apply(x, dim)
    if dim is None:
        return -Amax.apply(-x, dim=None, keepdim=False)
    values, idx = max(-x, dim=dim, keepdim=keepdim)
    return return_types.min(-values, idx)


def mean(x: Tensor, dim=None, keepdim=False):
    axes = _axes(dim, x.ndim)
    n = 1
    for a in axes:
        n *= x.shape[a]
    return Sum.apply(x, dim=axes, keepdim=keepdim) * (1.0 / n)


def var(x: Tensor, dim=None, keepdim=False, unbiased=None, *, correction=None):
    """Variance over ``dim``: ``sum((x - mean)^2) / (n - correction)``. ``correction`` is 1
    (unbiased) by default; ``unbiased=False`` means 0, as ``torch.var``."""
    if correction is None:
        correction = 0 if unbiased is False else 1
    elif unbiased is not None:
        raise ValueError("var: give either unbiased or correction, not both")
    axes = _axes(dim, x.ndim)
    n = 1
    for a in axes:
        n *= x.shape[a]
    d = x - mean(x, dim=axes, keepdim=True)
    scale = 1.0 / (n - correction) if n > correction else float("nan")  # nan as torch
    return Sum.apply(d * d, dim=axes, keepdim=keepdim) * scale


def norm(x: Tensor, p=2, dim=None, keepdim=False):
    """The p-norm over ``dim``: ``(sum |x|^p)^(1/p)``; ``p`` is a number > 0, ``'fro'`` (2)
    or ``inf`` (the largest ``|x|``), as ``torch.linalg.vector_norm``."""
    if p == "fro":
        p = 2
    if isinstance(p, str) or not p > 0:
        raise ValueError(f"norm: p must be a number > 0, 'fro' or inf, got {p!r}")
    if p == float("inf"):
        return Amax.apply(x.abs(), dim=dim, keepdim=keepdim)
    if p == 2:
        return Sum.apply(x * x, dim=dim, keepdim=keepdim).sqrt()
    if p == 1:
        return Sum.apply(x.abs(), dim=dim, keepdim=keepdim)
    return Sum.apply(x.abs() ** p, dim=dim, keepdim=keepdim) ** (1.0 / p)

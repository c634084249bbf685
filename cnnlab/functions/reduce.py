"""Reductions with PyTorch's signatures: ``sum``, ``mean``, ``std``, ``var``, ``prod``,
``max``/``min`` (named ``values``/``indices`` with ``dim``), ``argmax``, ``sort``, ``topk``,
``median``, ``kthvalue``, ``logsumexp``, ``cumsum``.

The values of ``sort``, ``topk``, ``median`` and ``kthvalue`` are a gather of the input at
the indices, so their gradient flows to the chosen elements; indices never carry one.
"""

from __future__ import annotations

import numpy as np

from cnnlab import return_types
from cnnlab.autograd import Tensor, no_grad
from cnnlab.backend import get_array_module
from cnnlab.ops import reduce as _reduce
from cnnlab.ops.gather import Gather
from cnnlab.ops.scan import CumSum

__all__ = [
    "all",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "argsort",
    "count_nonzero",
    "cumsum",
    "kthvalue",
    "logsumexp",
    "max",
    "mean",
    "median",
    "min",
    "norm",
    "prod",
    "sort",
    "std",
    "std_mean",
    "sum",
    "topk",
    "var",
    "var_mean",
]


def _cast(input: Tensor, dtype) -> Tensor:
    return input if dtype is None or np.dtype(dtype) == input.dtype else input.astype(dtype)


def _index(array) -> Tensor:
    return Tensor._make(array.astype(np.int64, copy=False), False)


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over ``dim`` (an int, a tuple, or all dims), in ``dtype`` if given."""
    return _reduce.Sum.apply(_cast(input, dtype), dim=dim, keepdim=keepdim)


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The mean over ``dim`` (all dims by default); integer inputs need a floating ``dtype``."""
    if input.dtype.kind not in "fc" and dtype is None:
        raise RuntimeError(
            f"mean: could not infer the output dtype; the input has dtype {input.dtype}, "
            "give a floating dtype= (or call .float() first), as PyTorch asks"
        )
    return _reduce.mean(_cast(input, dtype), dim=dim, keepdim=keepdim)


def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product over ``dim`` (all dims by default); exact gradients where elements are 0."""
    return _reduce.Prod.apply(_cast(input, dtype), dim=dim, keepdim=keepdim)


def _unbiased(dim, unbiased):
    # torch.std(x, False) is the old (input, unbiased) overload
    if isinstance(dim, bool):
        return None, dim
    return dim, unbiased


def var(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Variance, unbiased (``correction=1``) by default."""
    dim, unbiased = _unbiased(dim, unbiased)
    return _reduce.var(input, dim=dim, keepdim=keepdim, unbiased=unbiased, correction=correction)


def std(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """Standard deviation, unbiased (``correction=1``) by default."""
    return var(input, dim, unbiased, keepdim, correction=correction).sqrt()


def var_mean(input: Tensor, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(var, mean)`` over ``dim``."""
    v = var(input, dim, unbiased, keepdim, correction=correction)
    return v, mean(input, _unbiased(dim, None)[0], keepdim)


def std_mean(input: Tensor, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """``(std, mean)`` over ``dim``."""
    v, m = var_mean(input, dim, unbiased, keepdim, correction=correction)
    return v.sqrt(), m


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False) -> Tensor:
    """The p-norm (Frobenius / 2-norm by default) over ``dim`` or all elements."""
    return _reduce.norm(input, p=p, dim=dim, keepdim=keepdim)


def max(input: Tensor, dim=None, keepdim: bool = False):
    """``max(x)``: the largest value; ``max(x, dim)``: ``(values, indices)`` named;
    ``max(x, other)``: the elementwise maximum, as ``torch.max``."""
    return _reduce.max(input, dim=dim, keepdim=keepdim)


def min(input: Tensor, dim=None, keepdim: bool = False):
    """``min(x)``, ``min(x, dim)`` -> ``(values, indices)``, or ``min(x, other)``."""
    return _reduce.min(input, dim=dim, keepdim=keepdim)


def amax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The largest values over ``dim``; tied maxima share the gradient."""
    return _reduce.Amax.apply(input, dim=dim, keepdim=keepdim)


def amin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The smallest values over ``dim``; tied minima share the gradient."""
    return -_reduce.Amax.apply(-input, dim=dim, keepdim=keepdim)


def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the first largest value (of the flattened input without ``dim``)."""
    return _index(_reduce.argmax_array(input.array, dim, keepdim))


def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the first smallest value (of the flattened input without ``dim``)."""
    a = input.array
    xp = get_array_module(a)
    if dim is None:
        return _index(xp.asarray(a.argmin()))
    idx = a.argmin(axis=dim)
    return _index(xp.expand_dims(idx, dim) if keepdim else idx)


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Whether every element (over ``dim``) is nonzero."""
    return input.all(dim=dim, keepdim=keepdim)


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Whether any element (over ``dim``) is nonzero."""
    return input.any(dim=dim, keepdim=keepdim)


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """The number of nonzero elements (over ``dim``), int64."""
    a = input.array
    return _index(get_array_module(a).asarray(np.count_nonzero(a, axis=dim)))


def _order(a, dim: int, descending: bool):
    """Stable sorting indices along ``dim``; descending sorts the negated keys (so equal
    values keep their order either way)."""
    xp = get_array_module(a)
    if descending:
        if a.dtype == np.bool_:
            a = ~a
        else:
            a = -(a.astype(np.int64) if a.dtype.kind == "u" else a)  # unsigned would wrap
    return xp.argsort(a, axis=dim, kind="stable")


def argsort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """Indices that sort ``input`` along ``dim`` (ties keep their order)."""
    if input.ndim == 0:
        return _index(get_array_module(input.array).zeros((), np.int64))
    return _index(_order(input.array, dim, descending))


def sort(input: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """``(values, indices)`` sorted along ``dim``; equal values keep their order."""
    indices = argsort(input, dim, descending)
    if input.ndim == 0:
        return return_types.sort(input, indices)
    return return_types.sort(Gather.apply(input, index=indices.array, dim=dim), indices)


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The ``k`` largest (or smallest) elements along ``dim`` and their indices."""
    n = input.shape[dim] if input.ndim else 1
    if not 0 <= k <= n:
        raise ValueError(f"topk: k must be in [0, {n}] for dim {dim} of size {n}, got {k}")
    order = _order(input.array, dim, largest)
    xp = get_array_module(order)
    idx = xp.take(order, xp.arange(k), axis=dim % input.ndim)
    return return_types.topk(Gather.apply(input, index=idx, dim=dim), _index(idx))


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest element (1-based) along ``dim`` and its index."""
    n = input.shape[dim]
    if not 1 <= k <= n:
        raise ValueError(f"kthvalue: k must be in [1, {n}] for dim {dim} of size {n}, got {k}")
    dim = dim % input.ndim
    order = _order(input.array, dim, False)
    idx = get_array_module(order).take(order, [k - 1], axis=dim)
    values = Gather.apply(input, index=idx, dim=dim)
    if not keepdim:
        values, idx = values.squeeze(dim), idx.squeeze(dim)
    return return_types.kthvalue(values, _index(idx))


def median(input: Tensor, dim=None, keepdim: bool = False):
    """The lower median: of all elements (a 0-d tensor) or along ``dim`` with its index."""
    if dim is None:
        flat = input.reshape(-1)
        return kthvalue(flat, (flat.shape[0] + 1) // 2, 0).values
    n = input.shape[dim]
    values, indices = kthvalue(input, (n + 1) // 2, dim, keepdim)
    return return_types.median(values, indices)


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``dim``, computed stably (the maximum is taken out)."""
    with no_grad():
        m = _reduce.Amax.apply(input, dim=dim, keepdim=True)
    xp = get_array_module(m.array)
    m = Tensor._make(xp.where(xp.isfinite(m.array), m.array, 0), False)  # all -inf: no shift
    out = _reduce.Sum.apply((input - m).exp(), dim=dim, keepdim=True).log() + m
    return out if keepdim else out.squeeze(dim) if isinstance(dim, int) else _squeeze(out, dim)


def _squeeze(t: Tensor, dims) -> Tensor:
    dims = {d % t.ndim for d in dims}
    return t.reshape(tuple(n for i, n in enumerate(t.shape) if i not in dims))


def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sum along ``dim``."""
    return CumSum.apply(_cast(input, dtype), dim=dim)

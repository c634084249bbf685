"""Comparisons and predicates with PyTorch's signatures: ``eq``, ``gt`` ..., ``allclose``,
``isclose``, ``equal``, ``isnan``, ``isfinite``, ``logical_and``, ``is_tensor``,
``is_floating_point``, ``unique``.

They give boolean (or Python) answers and carry no gradient, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from cnnlab.autograd import Tensor
from cnnlab.backend import get_array_module

__all__ = [
    "allclose",
    "bincount",
    "eq",
    "equal",
    "ge",
    "gt",
    "is_floating_point",
    "is_nonzero",
    "is_tensor",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "le",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "lt",
    "ne",
    "unique",
]


def _a(x):
    return x.array if isinstance(x, Tensor) else x


def _bool(array) -> Tensor:
    return Tensor._make(array, False)


def is_tensor(obj) -> bool:
    """Whether ``obj`` is a cnnlab Tensor."""
    return isinstance(obj, Tensor)


def is_floating_point(input: Tensor) -> bool:
    """Whether the dtype is a floating one."""
    return input.dtype.kind == "f"


def is_nonzero(input: Tensor) -> bool:
    """The truth of a one-element tensor."""
    return bool(input)


def eq(input, other) -> Tensor:
    """``input == other`` elementwise."""
    return _bool(np.equal(_a(input), _a(other)))


def ne(input, other) -> Tensor:
    """``input != other`` elementwise."""
    return _bool(np.not_equal(_a(input), _a(other)))


def gt(input, other) -> Tensor:
    """``input > other`` elementwise."""
    return _bool(np.greater(_a(input), _a(other)))


def ge(input, other) -> Tensor:
    """``input >= other`` elementwise."""
    return _bool(np.greater_equal(_a(input), _a(other)))


def lt(input, other) -> Tensor:
    """``input < other`` elementwise."""
    return _bool(np.less(_a(input), _a(other)))


def le(input, other) -> Tensor:
    """``input <= other`` elementwise."""
    return _bool(np.less_equal(_a(input), _a(other)))


def logical_and(input, other) -> Tensor:
    """Elementwise logical and (nonzero is True)."""
    return _bool(np.logical_and(_a(input), _a(other)))


def logical_or(input, other) -> Tensor:
    """Elementwise logical or."""
    return _bool(np.logical_or(_a(input), _a(other)))


def logical_xor(input, other) -> Tensor:
    """Elementwise logical exclusive or."""
    return _bool(np.logical_xor(_a(input), _a(other)))


def logical_not(input) -> Tensor:
    """Elementwise logical not."""
    return _bool(np.logical_not(_a(input)))


def isnan(input: Tensor) -> Tensor:
    """Where the elements are NaN."""
    return _bool(get_array_module(_a(input)).isnan(_a(input)))


def isinf(input: Tensor) -> Tensor:
    """Where the elements are infinite."""
    return _bool(get_array_module(_a(input)).isinf(_a(input)))


def isfinite(input: Tensor) -> Tensor:
    """Where the elements are finite."""
    return _bool(get_array_module(_a(input)).isfinite(_a(input)))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> Tensor:
    """``|input - other| <= atol + rtol * |other|`` elementwise."""
    a, b = _a(input), _a(other)
    return _bool(get_array_module(a, b).isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """Whether every element is close (see :func:`isclose`); PyTorch's tolerances."""
    return bool(isclose(input, other, rtol, atol, equal_nan).array.all())


def equal(input, other) -> bool:
    """Same shape and same values."""
    a, b = _a(input), _a(other)
    return a.shape == b.shape and bool((a == b).all())


def unique(input: Tensor, sorted: bool = True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (sorted), and optionally the inverse indices and counts."""
    a = _a(input)
    xp = get_array_module(a)
    res = xp.unique(a, return_inverse=return_inverse, return_counts=return_counts, axis=dim)
    if not (return_inverse or return_counts):
        return _bool(res)
    values, *rest = res
    out = [_bool(values)]
    if return_inverse:
        out.append(_bool(rest.pop(0).reshape(a.shape if dim is None else -1).astype(np.int64)))
    if return_counts:
        out.append(_bool(rest.pop(0).astype(np.int64)))
    return tuple(out)


def bincount(input: Tensor, weights=None, minlength: int = 0) -> Tensor:
    """How often each value 0, 1, ... occurs in a 1-D non-negative integer tensor (or the
    sum of ``weights`` per value)."""
    a = _a(input)
    if a.ndim != 1 or a.dtype.kind not in "iu" or (a.size and a.min() < 0):
        raise ValueError(
            f"bincount: expects a 1-D tensor of non-negative ints, got shape {a.shape} "
            f"dtype {a.dtype}"
        )
    w = None if weights is None else _a(weights)
    counts = get_array_module(a).bincount(a, weights=w, minlength=minlength)
    return _bool(counts.astype(np.int64) if w is None else counts)

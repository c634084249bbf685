"""PyTorch's type promotion for arithmetic between tensors and Python numbers.

NumPy and PyTorch agree within a category (two float tensors give the wider float) but not
across categories: NumPy widens ``float32 * int64`` to float64 and ``int64 * 0.5`` to
float64, PyTorch keeps float32 for both. PyTorch's rule (``torch.result_type``):

- categories rank bool < integer < floating;
- operands form three groups by priority: tensors with dimensions, zero-dimensional
  tensors, Python numbers (a float counts as the default dtype, an int as int64);
- the result is the first group's promoted type, unless a lower-priority group has a
  higher category: then that category's type joins in (an integer tensor times ``0.5`` is
  float32, times a 0-d float64 tensor is float64);
- between an integer and a floating type the floating one wins whatever its size.

True division of integers gives the default floating dtype.
"""

from __future__ import annotations

from numbers import Number

import numpy as np

from cnnlab import backend

__all__ = ["promote_types", "result_type"]

_BOOL = np.dtype(bool)


def _category(dt) -> int:
    return 0 if dt == _BOOL else 1 if dt.kind in "iu" else 2 if dt.kind == "f" else 3


def promote_types(a, b) -> np.dtype:
    """The smallest dtype both ``a`` and ``b`` go to, as ``torch.promote_types``."""
    a, b = np.dtype(a), np.dtype(b)
    if a == b or b == _BOOL:
        return a
    if a == _BOOL:
        return b
    if a.kind == "f" and b.kind in "iu":
        return a
    if b.kind == "f" and a.kind in "iu":
        return b
    return np.promote_types(a, b)


def _group(dtypes) -> np.dtype | None:
    out = None
    for dt in dtypes:
        out = dt if out is None else promote_types(out, dt)
    return out


def _combine(higher, lower):
    """``higher`` (a higher-priority group's type) joined by ``lower`` only where ``lower``
    is of a higher category."""
    if higher is None:
        return lower
    if lower is None or _category(higher) >= _category(lower):
        return higher
    return promote_types(higher, lower)


def result_type(*operands) -> np.dtype:
    """The dtype of ``a + b`` (and the other arithmetic) of Tensors, arrays and Python
    numbers, by PyTorch's rule (module docstring)."""
    dims, zeros, numbers = [], [], []
    for x in operands:
        if isinstance(x, bool):
            numbers.append(_BOOL)
        elif isinstance(x, int):
            numbers.append(np.dtype(np.int64))
        elif isinstance(x, float):
            numbers.append(backend.get_default_dtype())
        elif isinstance(x, Number) and not hasattr(x, "dtype"):
            numbers.append(np.dtype(complex))
        elif hasattr(x, "dtype"):
            (dims if np.ndim(x) else zeros).append(np.dtype(x.dtype))
    return _combine(_group(dims), _combine(_group(zeros), _group(numbers)))


def promote(a, b, true_divide: bool = False):
    """``a`` and ``b`` (Tensors, arrays or numbers) cast to their :func:`result_type` where
    NumPy would compute in another dtype; ``true_divide`` makes an integer result the default
    floating dtype. Tensors are cast with ``.to`` (a graph op: gradients flow back)."""
    da, db = getattr(a, "dtype", None), getattr(b, "dtype", None)
    if da is not None and da == db and (not true_divide or da.kind in "fc"):
        return a, b  # the common case: one dtype
    want = result_type(a, b)
    if true_divide and want.kind not in "fc":
        want = backend.get_default_dtype()
    return _cast(a, want), _cast(b, want)


def _cast(x, dtype):
    if not hasattr(x, "dtype") or np.dtype(x.dtype) == dtype:
        return x
    if hasattr(x, "requires_grad"):  # a Tensor
        return x.to(dtype)
    return backend.get_array_module(x).asarray(x, dtype=dtype)

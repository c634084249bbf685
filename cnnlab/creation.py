"""Tensor factories (zeros, ones, randn, ...), drawing randomness from cnnlab's generator."""

from __future__ import annotations

import numpy as np

from cnnlab import backend
from cnnlab.autograd import Tensor


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(size[0])
    return tuple(size)


def _dtype(dtype):
    return np.dtype(dtype) if dtype is not None else backend.get_default_dtype()


def zeros(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_shape(size), _dtype(dtype)), requires_grad=requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_shape(size), _dtype(dtype)), requires_grad=requires_grad)


def zeros_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    xp = backend.get_array_module(t.array)
    return Tensor(xp.zeros_like(t.array), requires_grad=requires_grad)


def ones_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    xp = backend.get_array_module(t.array)
    return Tensor(xp.ones_like(t.array), requires_grad=requires_grad)


def randn(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from cnnlab's seeded generator."""
    data = backend.default_rng().standard_normal(_shape(size)).astype(_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad)


def rand(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) samples from cnnlab's seeded generator."""
    data = backend.default_rng().random(_shape(size)).astype(_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad)


def arange(*args, dtype=None) -> Tensor:
    data = np.arange(*args)
    if dtype is not None:
        data = data.astype(dtype)
    elif data.dtype.kind == "f":
        data = data.astype(backend.get_default_dtype())
    return Tensor(data)


def from_numpy(a: np.ndarray) -> Tensor:
    """Wrap an array without copying it."""
    return Tensor._make(a, False)

"""Tensor factories with PyTorch's signatures: ``zeros``, ``full``, ``eye``, ``linspace``,
``randn``, ``randint``, the ``*_like`` forms, ``tensor``, ``as_tensor``, ``from_numpy``.

Every factory takes ``dtype``, ``device`` and ``requires_grad`` as PyTorch's do. Random
numbers come from cnnlab's generator (seed it with :func:`cnnlab.manual_seed`), drawn on the
host and moved to the device. ``empty`` gives zeros (PyTorch leaves the memory unset).
"""

from __future__ import annotations

import numbers

import numpy as np

from cnnlab import backend
from cnnlab.autograd import Tensor
from cnnlab.devices import runnable

__all__ = [
    "arange",
    "as_tensor",
    "empty",
    "empty_like",
    "eye",
    "from_numpy",
    "full",
    "full_like",
    "linspace",
    "logspace",
    "normal",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "randperm",
    "tensor",
    "zeros",
    "zeros_like",
]


def _shape(name: str, size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    if not all(isinstance(n, numbers.Integral) and n >= 0 for n in size):
        raise ValueError(f"{name}: size must be non-negative ints, got {tuple(size)}")
    return tuple(int(n) for n in size)


def _dtype(dtype):
    return np.dtype(dtype) if dtype is not None else backend.get_default_dtype()


def _make(array, dtype, device, requires_grad: bool) -> Tensor:
    """A Tensor of ``array`` cast to ``dtype`` (if given) on ``device`` (if given)."""
    if dtype is not None:
        array = array.astype(np.dtype(dtype), copy=False)
    if device is not None:
        dev = runnable(device)
        if dev != backend.device_of(array):
            array = backend.to_device(array, dev)
    t = Tensor._make(array, False)
    return t.requires_grad_(True) if requires_grad else t


def _like(input: Tensor, dtype, device):
    return (input.dtype if dtype is None else dtype), (input.device if device is None else device)


# --------------------------------------------------------------------- constants
def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros; ``size`` as ints or one tuple."""
    return _make(np.zeros(_shape("zeros", size), _dtype(dtype)), None, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones; ``size`` as ints or one tuple."""
    return _make(np.ones(_shape("ones", size), _dtype(dtype)), None, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor to be filled (zeros here: reading unset memory helps no one)."""
    return _make(np.zeros(_shape("empty", size), _dtype(dtype)), None, device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``fill_value``; its dtype follows the value (bool, int64 or the default
    float) unless ``dtype`` is given, as PyTorch."""
    if dtype is None:
        if isinstance(fill_value, bool):
            dtype = np.bool_
        elif isinstance(fill_value, numbers.Integral):
            dtype = np.int64
        else:
            dtype = backend.get_default_dtype()
    shape = _shape("full", (size,) if isinstance(size, numbers.Integral) else tuple(size))
    return _make(np.full(shape, fill_value, np.dtype(dtype)), None, device, requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The ``n x m`` identity matrix (``m`` defaults to ``n``)."""
    return _make(np.eye(n, m, dtype=_dtype(dtype)), None, device, requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``[start, end)`` in steps of ``step``: int64 when all three are ints, else the default
    float dtype, as PyTorch."""
    if end is None:
        start, end = 0, start
    data = np.arange(start, end, step)
    if dtype is None and data.dtype.kind == "f":
        dtype = backend.get_default_dtype()
    return _make(data, dtype, device, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    data = np.linspace(start, end, int(steps), dtype=np.float64)
    return _make(data, _dtype(dtype), device, requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    data = np.logspace(start, end, int(steps), base=base, dtype=np.float64)
    return _make(data, _dtype(dtype), device, False)


# -------------------------------------------------------------------------- random
def rand(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in ``[0, 1)`` from cnnlab's seeded generator."""
    data = backend.default_rng().random(_shape("rand", size))
    return _make(data, _dtype(dtype), device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from cnnlab's seeded generator."""
    data = backend.default_rng().standard_normal(_shape("randn", size))
    return _make(data, _dtype(dtype), device, requires_grad)


def randint(*args, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``randint(high, size)`` or ``randint(low, high, size)``: integers in ``[low, high)``,
    int64 by default."""
    if size is None and args and isinstance(args[-1], (tuple, list)):
        *args, size = args
    if size is None or len(args) not in (1, 2):
        raise TypeError("randint: expected randint(high, size) or randint(low, high, size)")
    low, high = (0, args[0]) if len(args) == 1 else args
    if high <= low:
        raise ValueError(f"randint: expected low < high, got low={low}, high={high}")
    data = backend.default_rng().integers(low, high, _shape("randint", (size,)))
    return _make(data, np.int64 if dtype is None else dtype, device, requires_grad)


def randperm(n: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64 by default)."""
    data = backend.default_rng().permutation(int(n))
    return _make(data, np.int64 if dtype is None else dtype, device, requires_grad)


def normal(mean, std, size=None, *, dtype=None, device=None) -> Tensor:
    """Normal samples: ``mean`` and ``std`` numbers (with ``size``) or tensors (elementwise)."""
    m = np.asarray(mean.array if isinstance(mean, Tensor) else mean, dtype=np.float64)
    s = np.asarray(std.array if isinstance(std, Tensor) else std, dtype=np.float64)
    shape = np.broadcast_shapes(m.shape, s.shape) if size is None else _shape("normal", (size,))
    data = m + s * backend.default_rng().standard_normal(shape)
    ref = mean if isinstance(mean, Tensor) else std if isinstance(std, Tensor) else None
    if dtype is None:
        dtype = ref.dtype if ref is not None else backend.get_default_dtype()
    return _make(data, dtype, device, False)


# -------------------------------------------------------------------------- *_like
def zeros_like(input: Tensor, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``zeros`` with ``input``'s shape, dtype and device (unless given)."""
    dtype, device = _like(input, dtype, device)
    return zeros(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(input: Tensor, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``ones`` with ``input``'s shape, dtype and device (unless given)."""
    dtype, device = _like(input, dtype, device)
    return ones(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(input: Tensor, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``empty`` with ``input``'s shape, dtype and device (unless given)."""
    dtype, device = _like(input, dtype, device)
    return empty(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value, *, dtype=None, device=None, requires_grad=False):
    """``full`` with ``input``'s shape, dtype and device (unless given)."""
    dtype, device = _like(input, dtype, device)
    return full(input.shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def rand_like(input: Tensor, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``rand`` with ``input``'s shape, dtype and device (unless given)."""
    dtype, device = _like(input, dtype, device)
    return rand(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(input: Tensor, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``randn`` with ``input``'s shape, dtype and device (unless given)."""
    dtype, device = _like(input, dtype, device)
    return randn(input.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randint_like(input: Tensor, low, high=None, *, dtype=None, device=None) -> Tensor:
    """``randint_like(input, high)`` or ``randint_like(input, low, high)``."""
    if high is None:
        low, high = 0, low
    dtype, device = _like(input, dtype, device)
    return randint(low, high, tuple(input.shape), dtype=dtype, device=device)


# ------------------------------------------------------------------ from data
def tensor(data, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (lists, numbers, arrays, tensors). Python
    floats become the default dtype, ints int64, bools bool; arrays keep their dtype."""
    if isinstance(data, Tensor):
        data = data.array
    t = Tensor(data, dtype=dtype)
    array = t.array.copy() if t.array is data else t.array
    return _make(array, None, device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, sharing memory where no conversion is needed (a Tensor is
    returned itself; a NumPy array of the right dtype is wrapped, not copied)."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    if isinstance(data, np.ndarray):
        return _make(data, dtype, device, False)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(a: np.ndarray) -> Tensor:
    """Wrap a NumPy array without copying it (changes to one show in the other)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(a).__name__}")
    return Tensor._make(a, False)

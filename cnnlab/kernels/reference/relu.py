"""ReLU, ``y = max(x, 0)``, and its clipped form hardtanh, ``y = min(max(x, lo), hi)``
(ReLU6 is ``hardtanh(x, 0, 6)``)."""

from __future__ import annotations

from cnnlab.backend import get_array_module


def relu_forward(x):
    """``max(x, 0)``. Shape: any -> the same."""
    return get_array_module(x).maximum(x, 0)


# dL/dx = g where x > 0, else 0; x > 0 exactly where y > 0, so the output suffices
def relu_backward(gy, y):
    """``g * (y > 0)``. Shape: any -> the same."""
    return gy * (y > 0)


def hardtanh_forward(x, *, min_val: float, max_val: float):
    """``min(max(x, min_val), max_val)`` (NaN stays NaN). Shape: any -> the same."""
    return get_array_module(x).clip(x, min_val, max_val).astype(x.dtype, copy=False)


# dL/dx = g where min_val < x < max_val, else 0 (PyTorch: 0 at the bounds themselves);
# for min_val < max_val that is exactly where min_val < y < max_val, so y suffices
def hardtanh_backward(gy, y, *, min_val: float, max_val: float):
    """``g * (min_val < y < max_val)``. Shape: any -> the same."""
    return gy * ((y > min_val) & (y < max_val))


def add(a, b):
    """``a + b`` (NumPy's broadcasting). Shape: broadcast of a and b."""
    return a + b

"""ReLU, ``y = max(x, 0)``."""

from __future__ import annotations

from cnnlab.backend import get_array_module


def relu_forward(x):
    """``max(x, 0)``. Shape: any -> the same."""
    return get_array_module(x).maximum(x, 0)


# dL/dx = g where x > 0, else 0; x > 0 exactly where y > 0, so the output suffices
def relu_backward(gy, y):
    """``g * (y > 0)``. Shape: any -> the same."""
    return gy * (y > 0)

"""Copies that change only where the values lie in memory, not the values."""

from __future__ import annotations

from cnnlab.backend import get_array_module


def contiguous(x):
    """``x`` in C order (NCHW for an image): itself where it is, else a copy. Shape: the same."""
    return get_array_module(x).ascontiguousarray(x)

"""The matrix product of a linear layer: one GEMM."""

from __future__ import annotations

from cnnlab.backend import get_array_module


def matmul(a, b):
    """``a @ b`` for 2-D arrays. Shape: (M, K), (K, N) -> (M, N)."""
    return get_array_module(a, b).dot(a, b)

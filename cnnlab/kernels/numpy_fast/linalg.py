"""The matrix product of a linear layer, its rows split over :mod:`cnnlab.threads`."""

from __future__ import annotations

from cnnlab.backend import get_array_module
from cnnlab.threads import parallel_for


def matmul(a, b):
    """``a @ b`` for 2-D arrays, each thread one block of rows of ``a`` (OpenBLAS held to one
    thread meanwhile). Shape: (M, K), (K, N) -> (M, N)."""
    xp = get_array_module(a, b)
    out = xp.empty((a.shape[0], b.shape[1]), dtype=xp.result_type(a.dtype, b.dtype))
    work = a.shape[0] * a.shape[1] * b.shape[1] // 8  # a GEMM does ~8 flops per element moved
    # dot, not matmul: matmul keeps the GIL through BLAS for products under 500 elements
    parallel_for(a.shape[0], lambda i, j: xp.dot(a[i:j], b, out=out[i:j]), work=work, arrays=(a, b))
    return out

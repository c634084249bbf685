"""The matrix product of a linear layer through oneDNN's matmul primitive, on its threads.

A linear layer's three products (``x W^T`` forward, ``g W`` and ``g^T x`` backward) take
the weight and the gradient transposed: a transposed view is a column-major matrix, which
oneDNN reads as it lies (format ``ba``), so no operand is copied. NumPy's ``dot`` split over
cnnlab's threads waited for oneDNN's spinning workers, and OpenBLAS's own threads fought
them. Measured 2026-12-07 on 2 cores of an AVX-512 EPYC right after a convolution, wall ms
per product, fashion_cnn's classifier (batch 128, 6272 -> 10), median of 30: 0.15 here
against 1.3-1.5 for OpenBLAS held to one thread.
"""

from __future__ import annotations

import numpy as np

from cnnlab.kernels.onednn import constants as k
from cnnlab.kernels.onednn.library import OneDNNError
from cnnlab.kernels.onednn.plan import Plan, cached

__all__ = ["MIN_WORK", "matmul", "order"]

# multiply-adds: below this NumPy's dot on one thread wins. Measured 2026-12-07 (2 cores, AVX-512,
# right after a convolution, us per product, oneDNN against OpenBLAS on one thread): with
# oneDNN's threads asleep between kernels (cnnlab's default) 2.1 M multiply-adds 107
# against 72, 8.0 M 186 against 437; with them spinning (PyTorch loaded first) 2.0 M 41
# against 52, 0.6 M 27 against 20. A captioner's per-word products (32 x 256 x 128) lost
# 3 ms a step with the bar at 65 k.
MIN_WORK = 1 << 22
_TAGS = {"C": k.TAG_NC, "F": k.TAG_BA}


def order(a) -> str | None:
    """``"C"`` for a row-major 2-D array, ``"F"`` for a column-major one (a transposed
    view), None for other strides."""
    if a.ndim != 2:
        return None
    if a.flags.c_contiguous:
        return "C"
    return "F" if a.flags.f_contiguous else None


def _plan(m: int, kk: int, n: int, a_order: str, b_order: str) -> Plan:
    plan = Plan(f"matmul ({m} x {kk} {a_order}) @ ({kk} x {n} {b_order})")
    a, b = plan.md((m, kk), _TAGS[a_order]), plan.md((kk, n), _TAGS[b_order])
    c = plan.md((m, n), k.TAG_NC)
    pd = plan.pd(plan.lib.dnnl_matmul_primitive_desc_create, a, b, None, c)
    args = {k.ARG_SRC: plan.user("a", a), k.ARG_WEIGHTS: plan.user("b", b)}
    plan.step(pd, {**args, k.ARG_DST: plan.user("c", c)})
    return plan


def matmul(a, b) -> np.ndarray:
    """``a @ b`` for two float32 matrices, each row- or column-major; the result row-major.
    Shape: (M, K), (K, N) -> (M, N)."""
    ao, bo = order(a), order(b)
    if a.dtype != np.float32 or b.dtype != np.float32 or ao is None or bo is None:
        raise ValueError("oneDNN matmul: two float32 matrices, each row- or column-major")
    (m, kk), (k2, n) = a.shape, b.shape
    if kk != k2:
        raise ValueError(f"oneDNN matmul: shapes {a.shape} and {b.shape} do not chain")
    plan = cached(("matmul", m, kk, n, ao, bo), lambda: _plan(m, kk, n, ao, bo))
    c = np.empty((m, n), np.float32)
    plan.run(a=a, b=b, c=c)
    return c


def check(a, b) -> None:
    """Raise where oneDNN should not run ``a @ b`` (what ``supports`` asks)."""
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
        raise ValueError("oneDNN matmul: NumPy arrays only")
    if order(a) is None or order(b) is None or a.shape[1] != b.shape[0]:
        raise ValueError("oneDNN matmul: two chaining matrices, each row- or column-major")
    if a.shape[0] * a.shape[1] * b.shape[1] < MIN_WORK:
        raise ValueError("too small to pay for the call")
    if min(a.shape[0], a.shape[1], b.shape[1]) < 1:
        raise OneDNNError("oneDNN matmul: an empty matrix")

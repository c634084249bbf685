"""Element-wise ops of the oneDNN backend: ReLU and hardtanh (ReLU6) forward and backward,
and the residual add, all on oneDNN's (OpenMP) threads.

The arrays are seen as one flat vector of their memory (an element-wise op does not care
about the layout: an NHWC-strided image gives an NHWC-strided result), so one plan serves
every shape of the same size. The backward passes differentiate from the output
(``*_use_dst_for_bwd``; hardtanh is oneDNN's ``clip_v2``, gradient strictly inside the
bounds, as PyTorch), so the caller keeps only y.

oneDNN's ReLU and clip map NaN to a number (its JIT takes ``max(x, 0)`` with the NaN
first); PyTorch's keep NaN, and a diverged run must show it. So the forward plan also sums
64 rows of x in the same call (a NaN makes its row's sum NaN; +inf and -inf in one row do
too) and, where a sum is not finite, the activation is redone with NumPy's ``clip``, which
keeps NaN: the same result, only slower.

Why not NumPy over cnnlab's own threads, which measured faster on one thread: after a
oneDNN call its OpenMP workers spin for a while, and a Python thread that takes their
core waits for them. Measured 2026-12-07 on 2 cores of an AVX-512 EPYC, wall ms per call
right after a convolution, NHWC, median of 40: ReLU of 128 x 16 x 32 x 32 0.27 here (0.17
without the NaN sums; PyTorch 0.20) against 0.41 for ``clip`` split over two threads and
0.33 on one; 128 x 32 x 28 x 28: 0.58 against 0.92 and 0.69. The residual add likewise:
NumPy's add took 0.37 ms split and 0.24 on one thread for 128 x 16 x 32 x 32.
"""

from __future__ import annotations

import numpy as np

from cnnlab.kernels.onednn import arrays
from cnnlab.kernels.onednn import constants as k
from cnnlab.kernels.onednn.plan import Plan, cached
from cnnlab.kernels.onednn.reorder import relayout

__all__ = [
    "add",
    "hardtanh_backward",
    "hardtanh_forward",
    "relu_backward",
    "relu_forward",
    "sums_step",
]

SMALL = 1 << 16  # elements: below this a call through ctypes loses to NumPy's own loop
SUMMED = 1024  # elements: the least a NaN check sums on oneDNN's threads

# name -> (the forward algorithm the backward's hint names, the backward algorithm)
_ALGS = {
    "relu": (k.ELTWISE_RELU_USE_DST, k.ELTWISE_RELU_USE_DST),
    "hardtanh": (k.ELTWISE_CLIP_V2_USE_DST, k.ELTWISE_CLIP_V2_USE_DST),
}


def _forward_plan(name: str, size: int, alpha: float, beta: float) -> Plan:
    """The activation, then the row sums of x that show a NaN (:func:`sums_step`)."""
    plan = Plan(f"eltwise {name} forward (size {size}, alpha {alpha}, beta {beta})")
    md = plan.md((size,), k.TAG_X)
    fn = plan.lib.dnnl_eltwise_forward_primitive_desc_create
    pd = plan.pd(fn, k.FORWARD_TRAINING, _ALGS[name][0], md, md, float(alpha), float(beta))
    plan.step(pd, {k.ARG_SRC: plan.user("x", md), k.ARG_DST: plan.user("y", md)})
    sums_step(plan, size)
    return plan


def sums_step(plan: Plan, size: int, name: str = "rows", into: str = "sums") -> int:
    """Add a step to ``plan`` summing the plan's flat array ``name`` (``size`` elements) in
    equal rows into its array ``into`` (a NaN, or +inf with -inf, in a row makes its sum
    NaN); returns the number of rows (64 where it divides ``size``). On oneDNN's threads;
    ``size`` at least :data:`SUMMED` (smaller arrays: NumPy's ``isfinite`` is quicker)."""
    rows = _rows(size)
    src, dst = plan.md((rows, size // rows), k.TAG_NC), plan.md((rows, 1), k.TAG_NC)
    fn = plan.lib.dnnl_reduction_primitive_desc_create
    pd = plan.pd(fn, k.REDUCTION_SUM, src, dst, 0.0, 0.0)
    plan.step(pd, {k.ARG_SRC: plan.user(name, src), k.ARG_DST: plan.user(into, dst)})
    return rows


def _rows(size: int) -> int:
    """How many equal rows the NaN sums split ``size`` elements into (64 where it divides)."""
    return next(r for r in (64, 32, 16, 8, 4, 2, 1) if size % r == 0)


def _forward(name: str, x, lo: float, hi: float):
    """``min(max(x, lo), hi)`` in x's layout, NaN kept (see the module's docstring)."""
    x = arrays.image(x, "x", f"{name}_forward")
    y = arrays.empty(x.shape, arrays.tag(x))
    xa, ya = arrays.flat(x), arrays.flat(y)
    size = xa.size
    if size < SMALL:  # the call costs more than NumPy's loop
        np.clip(xa, lo, hi, out=ya)
        return y
    alpha, beta = (0.0, 0.0) if name == "relu" else (lo, hi)
    key = ("eltwise_fwd", name, size, alpha, beta)
    plan = cached(key, lambda: _forward_plan(name, size, alpha, beta))
    sums = np.empty(_rows(size), np.float32)
    plan.run(x=xa, y=ya, rows=xa, sums=sums)
    if not np.isfinite(sums).all():  # a NaN (or both infinities) in x: keep NaN
        np.clip(xa, lo, hi, out=ya)
    return y


def _backward_plan(name: str, size: int, alpha: float, beta: float) -> Plan:
    plan = Plan(f"eltwise {name} backward (size {size}, alpha {alpha}, beta {beta})")
    md = plan.md((size,), k.TAG_X)
    fwd, bwd = _ALGS[name]
    hint = plan.pd(
        plan.lib.dnnl_eltwise_forward_primitive_desc_create,
        k.FORWARD_TRAINING,
        fwd,
        md,
        md,
        float(alpha),
        float(beta),
    )
    fn = plan.lib.dnnl_eltwise_backward_primitive_desc_create
    pd = plan.pd(fn, bwd, md, md, md, float(alpha), float(beta), hint)
    args = {k.ARG_DIFF_DST: plan.user("gy", md), k.ARG_DIFF_SRC: plan.user("gx", md)}
    args[k.ARG_DST] = plan.user("data", md)
    plan.step(pd, args)
    return plan


def _backward(name: str, gy, data, alpha: float = 0.0, beta: float = 0.0):
    if tuple(gy.shape) != tuple(data.shape):
        raise ValueError(f"oneDNN {name}_backward: gy {gy.shape} and data {data.shape} differ")
    data = arrays.image(data, "data", f"{name}_backward")
    layout = arrays.tag(data)
    gy = relayout(gy, layout, "gy", f"{name}_backward")  # in data's layout
    gx = arrays.empty(data.shape, layout)
    gya, da, gxa = arrays.flat(gy), arrays.flat(data), arrays.flat(gx)
    size = gya.size
    key = ("eltwise_bwd", name, size, alpha, beta)
    plan = cached(key, lambda: _backward_plan(name, size, alpha, beta))
    plan.run(gy=gya, data=da, gx=gxa)
    return gx


def relu_forward(x) -> np.ndarray:
    """``y = max(x, 0)`` (NaN stays NaN). Shape: any -> same."""
    return _forward("relu", x, 0.0, np.inf)


def relu_backward(gy, y) -> np.ndarray:
    """``dL/dx = gy · [y > 0]``. Shape: gy, y alike -> same."""
    return _backward("relu", gy, y)


def hardtanh_forward(x, *, min_val: float, max_val: float) -> np.ndarray:
    """``y = min(max(x, min_val), max_val)`` (NaN stays NaN). Shape: any -> same."""
    _bounds(min_val, max_val)
    return _forward("hardtanh", x, float(min_val), float(max_val))


def hardtanh_backward(gy, y, *, min_val: float, max_val: float) -> np.ndarray:
    """``dL/dx = gy · [min_val < y < max_val]`` (0 at the bounds, as PyTorch).
    Shape: gy, y alike -> same."""
    _bounds(min_val, max_val)
    return _backward("hardtanh", gy, y, float(min_val), float(max_val))


def _bounds(min_val: float, max_val: float) -> None:
    # differentiating from y needs distinct bounds
    if not min_val < max_val:
        raise ValueError(f"oneDNN hardtanh: needs min_val < max_val, got {min_val}, {max_val}")


def same_layout(a, b) -> bool:
    """Whether ``a`` and ``b`` have one shape and lie in memory alike (both C-contiguous or
    both NHWC): then they add as flat buffers."""
    if a.shape != b.shape:
        return False
    for x in (a, b):
        if not (x.flags.c_contiguous or arrays.is_nhwc(x)):
            return False
    return arrays.tag(a) == arrays.tag(b)


def _add_plan(size: int) -> Plan:
    plan = Plan(f"binary add (size {size})")
    md = plan.md((size,), k.TAG_X)
    pd = plan.pd(plan.lib.dnnl_binary_primitive_desc_create, k.BINARY_ADD, md, md, md)
    args = {k.ARG_SRC_0: plan.user("a", md), k.ARG_SRC_1: plan.user("b", md)}
    plan.step(pd, {**args, k.ARG_DST: plan.user("y", md)})
    return plan


def add(a, b) -> np.ndarray:
    """``a + b`` for two float32 arrays of one shape and layout (the residual add), as flat
    buffers on oneDNN's threads; the result in their layout. Shape: a, b alike -> same.
    """
    a, b = arrays.image(a, "a", "add"), arrays.image(b, "b", "add")
    if not same_layout(a, b):
        raise ValueError(f"oneDNN add: a {a.shape} and b {b.shape} differ in shape or layout")
    y = arrays.empty(a.shape, arrays.tag(a))
    size = a.size
    plan = cached(("binary_add", size), lambda: _add_plan(size))
    plan.run(a=arrays.flat(a), b=arrays.flat(b), y=arrays.flat(y))
    return y

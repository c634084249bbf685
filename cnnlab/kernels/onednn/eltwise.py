"""Element-wise activations of the oneDNN backend: ReLU and hardtanh (ReLU6), and the
residual add.

The backward passes run oneDNN's eltwise primitive (``clip_v2``: gradient strictly inside
the bounds, as PyTorch), differentiating from the output (``*_use_dst_for_bwd``), so the
caller keeps only y. The arrays are seen as one flat vector of their memory (an
element-wise op does not care about the layout: an NHWC-strided image gives an
NHWC-strided result), so one plan serves every shape of the same size.

The forward passes are one pass of NumPy's ``clip`` (ReLU is ``clip(x, 0, inf)``), the
batch split over :mod:`cnnlab.threads`. oneDNN's eltwise forward maps NaN to a number
(PyTorch keeps NaN, and a diverged run must show it), so it needed a second pass over x to
find NaN; NumPy's clip keeps NaN in its one pass. Measured 2026-12-07, one thread of an
AVX-512 EPYC, CPU ms per call, NHWC images, oneDNN (with its NaN pass) against clip:
ReLU 2.26 against 1.24 (32 x 96 x 48 x 48), 0.35 against 0.20 (128 x 16 x 32 x 32);
ReLU6 2.18 against 1.31 and 0.39 against 0.24. NumPy's ``maximum(x, 0)`` took 2.27 and
0.68. The backward passes stay on oneDNN: 2.42 against 3.53 ms for NumPy's
``gy * (y > 0)``, 3.03 against 4.98 for ReLU6's.

The residual add is NumPy's ``add`` on the flat buffers, split over the threads as the
clip: oneDNN's binary add took 1.4x its time on one thread (same machine, NHWC, CPU ms per
call, median of 60 interleaved: 1.08 against 0.78 for 128 x 16 x 32 x 32, 0.31 against
0.21 for 128 x 32 x 16 x 16, 0.11 against 0.08 for 128 x 64 x 8 x 8).
"""

from __future__ import annotations

import numpy as np

from cnnlab.kernels.onednn import arrays
from cnnlab.kernels.onednn import constants as k
from cnnlab.kernels.onednn.plan import Plan, cached
from cnnlab.threads import split_batch

__all__ = [
    "add",
    "all_finite",
    "hardtanh_backward",
    "hardtanh_forward",
    "relu_backward",
    "relu_forward",
]

# name -> (the forward algorithm the backward's hint names, the backward algorithm)
_ALGS = {
    "relu": (k.ELTWISE_RELU_USE_DST, k.ELTWISE_RELU_USE_DST),
    "hardtanh": (k.ELTWISE_CLIP_V2_USE_DST, k.ELTWISE_CLIP_V2_USE_DST),
}


def _clip(name: str, x, lo: float, hi: float):
    """``min(max(x, lo), hi)`` in x's layout, NaN kept: one pass of NumPy's clip."""
    x = arrays.image(x, "x", f"{name}_forward")
    y = arrays.empty(x.shape, arrays.tag(x))
    split_batch(lambda i: np.clip(x[i], lo, hi, out=y[i]), x)
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


def _sums_plan(rows: int, cols: int) -> Plan:
    plan = Plan(f"reduction sum ({rows} x {cols} -> {rows})")
    src, dst = plan.md((rows, cols), k.TAG_NC), plan.md((rows, 1), k.TAG_NC)
    fn = plan.lib.dnnl_reduction_primitive_desc_create
    pd = plan.pd(fn, k.REDUCTION_SUM, src, dst, 0.0, 0.0)
    plan.step(pd, {k.ARG_SRC: plan.user("x", src), k.ARG_DST: plan.user("sums", dst)})
    return plan


def _row_sums(x: np.ndarray) -> np.ndarray:
    """Sums of 64 (or fewer) equal rows of flat ``x``, on oneDNN's threads; small arrays: x
    itself (oneDNN refuses a reduction to the same shape, and NumPy's loop is quicker)."""
    flat = arrays.flat(x)
    rows = next(r for r in (64, 32, 16, 8, 4, 2, 1) if flat.size % r == 0)
    cols = flat.size // rows
    if cols < 1024:
        return flat
    plan = cached(("relu_nan_sums", rows, cols), lambda: _sums_plan(rows, cols))
    sums = np.empty(rows, np.float32)
    plan.run(x=flat, sums=sums)
    return sums


def all_finite(x: np.ndarray) -> bool:
    """Whether ``x`` holds no NaN and no inf, read from its row sums (a sum that overflows
    reads as not finite too: callers then take their exact, slower path)."""
    return bool(np.isfinite(_row_sums(x)).all())


def _backward(name: str, gy, data, alpha: float = 0.0, beta: float = 0.0):
    if tuple(gy.shape) != tuple(data.shape):
        raise ValueError(f"oneDNN {name}_backward: gy {gy.shape} and data {data.shape} differ")
    data = arrays.image(data, "data", f"{name}_backward")
    layout = arrays.tag(data)
    gy = arrays.like(arrays.image(gy, "gy", f"{name}_backward"), layout)  # data's layout
    gx = arrays.empty(data.shape, layout)
    gya, da, gxa = arrays.flat(gy), arrays.flat(data), arrays.flat(gx)
    size = gya.size
    key = ("eltwise_bwd", name, size, alpha, beta)
    plan = cached(key, lambda: _backward_plan(name, size, alpha, beta))
    plan.run(gy=gya, data=da, gx=gxa)
    return gx


def relu_forward(x) -> np.ndarray:
    """``y = max(x, 0)`` (NaN stays NaN). Shape: any -> same."""
    return _clip("relu", x, 0.0, np.inf)


def relu_backward(gy, y) -> np.ndarray:
    """``dL/dx = gy · [y > 0]``. Shape: gy, y alike -> same."""
    return _backward("relu", gy, y)


def hardtanh_forward(x, *, min_val: float, max_val: float) -> np.ndarray:
    """``y = min(max(x, min_val), max_val)`` (NaN stays NaN). Shape: any -> same."""
    _bounds(min_val, max_val)
    return _clip("hardtanh", x, float(min_val), float(max_val))


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


def add(a, b) -> np.ndarray:
    """``a + b`` for two float32 arrays of one shape and layout (the residual add), as flat
    buffers, the batch split over :mod:`cnnlab.threads`; the result in their layout.
    Shape: a, b alike -> same.
    """
    a, b = arrays.image(a, "a", "add"), arrays.image(b, "b", "add")
    if not same_layout(a, b):
        raise ValueError(f"oneDNN add: a {a.shape} and b {b.shape} differ in shape or layout")
    y = arrays.empty(a.shape, arrays.tag(a))
    fa, fb, fy = arrays.flat(a), arrays.flat(b), arrays.flat(y)
    split_batch(lambda i: np.add(fa[i], fb[i], out=fy[i]), fa)
    return y

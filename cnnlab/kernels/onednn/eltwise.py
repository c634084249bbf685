"""Element-wise activations through oneDNN's eltwise primitive, forward and backward.

The arrays are seen as one flat vector (an element-wise op does not care about the layout),
so one plan serves every shape of the same size. ReLU, leaky ReLU, ELU and hardtanh (oneDNN's
``clip_v2``: gradient strictly inside the bounds, as PyTorch) differentiate from their output
(``*_use_dst_for_bwd``), so the caller keeps only y; GELU needs its input.
"""

from __future__ import annotations

import numpy as np

from cnnlab.kernels import layout
from cnnlab.kernels.onednn import blocked as bl
from cnnlab.kernels.onednn import constants as k
from cnnlab.kernels.onednn.arrays import as_f32
from cnnlab.kernels.onednn.plan import Plan, cached

__all__ = [
    "elu_backward",
    "elu_forward",
    "gelu_backward",
    "gelu_forward",
    "hardtanh_backward",
    "hardtanh_forward",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "relu_backward",
    "relu_forward",
]

# name -> (forward algorithm, backward algorithm, backward reads the output)
_ALGS = {
    "relu": (k.ELTWISE_RELU_USE_DST, k.ELTWISE_RELU_USE_DST, True),
    "elu": (k.ELTWISE_ELU_USE_DST, k.ELTWISE_ELU_USE_DST, True),
    "hardtanh": (k.ELTWISE_CLIP_V2_USE_DST, k.ELTWISE_CLIP_V2_USE_DST, True),
    "gelu_none": (k.ELTWISE_GELU_ERF, k.ELTWISE_GELU_ERF, False),
    "gelu_tanh": (k.ELTWISE_GELU_TANH, k.ELTWISE_GELU_TANH, False),
}


def _forward_plan(name: str, size: int, alpha: float, beta: float) -> Plan:
    plan = Plan(f"eltwise {name} forward (size {size}, alpha {alpha}, beta {beta})")
    md = plan.md((size,), k.TAG_X)
    fn = plan.lib.dnnl_eltwise_forward_primitive_desc_create
    pd = plan.pd(fn, k.FORWARD_TRAINING, _ALGS[name][0], md, md, float(alpha), float(beta))
    plan.step(pd, {k.ARG_SRC: plan.user("x", md), k.ARG_DST: plan.user("y", md)})
    return plan


def _backward_plan(name: str, size: int, alpha: float, beta: float) -> Plan:
    plan = Plan(f"eltwise {name} backward (size {size}, alpha {alpha}, beta {beta})")
    md = plan.md((size,), k.TAG_X)
    fwd, bwd, use_dst = _ALGS[name]
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
    args[k.ARG_DST if use_dst else k.ARG_SRC] = plan.user("data", md)
    plan.step(pd, args)
    return plan


def _forward(name: str, x, alpha: float = 0.0, beta: float = 0.0):
    # a Blocked image maps to a Blocked one of the same layout (flat buffers, padding too)
    if type(x) is bl.Blocked:
        y = bl.Blocked(np.empty_like(x.buf), x.shape, x.tag)
        xa, ya = x.buf, y.buf
    else:
        xa = as_f32(x, "x", f"{name}_forward")
        y = ya = np.empty(xa.shape, np.float32)
    size = xa.size
    key = ("eltwise_fwd", name, size, alpha, beta)
    plan = cached(key, lambda: _forward_plan(name, size, alpha, beta))
    plan.run(x=xa, y=ya)
    if size and not getattr(x, "nan_free", False):
        if name == "relu" and alpha == 0.0:
            _keep_nan(xa, ya, lambda: np.maximum(xa, 0, out=ya))
        elif name == "hardtanh":
            _keep_nan(xa, ya, lambda: np.clip(xa, alpha, beta, out=ya))
    return y


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
    flat = x.reshape(-1)
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


def _keep_nan(x: np.ndarray, y: np.ndarray, redo) -> None:
    """oneDNN's ReLU maps NaN to 0 (so does its binary max, and its clip maps NaN to a bound);
    PyTorch's, and NumPy's maximum and clip, keep NaN, and a diverged run must show NaN, not
    train on. A NaN makes its row's sum NaN:
    oneDNN sums 64 rows of x on its threads (0.48 ms for 12.8 MB against 0.68 ms for one
    BLAS ``sdot``, 2 threads). +inf and -inf in one row sum to NaN too: the ReLU is then
    redone with NumPy (``redo``), which gives the same result, only slower."""
    if np.isnan(_row_sums(x)).any():
        redo()


def _backward(name: str, gy, data, alpha: float = 0.0, beta: float = 0.0):
    if tuple(gy.shape) != tuple(data.shape):
        raise ValueError(f"oneDNN {name}_backward: gy {gy.shape} and data {data.shape} differ")
    if type(gy) is bl.Blocked and gy.same_layout(data):  # both blocked alike: flat buffers
        gx = bl.Blocked(np.empty_like(gy.buf), gy.shape, gy.tag)
        gya, da, gxa = gy.buf, data.buf, gx.buf
    else:  # mixed layouts: both as NCHW
        gya = as_f32(layout.dense(gy), "gy", f"{name}_backward")
        da = as_f32(layout.dense(data), "data", f"{name}_backward")
        gx = gxa = np.empty(gya.shape, np.float32)
    size = gya.size
    key = ("eltwise_bwd", name, size, alpha, beta)
    plan = cached(key, lambda: _backward_plan(name, size, alpha, beta))
    plan.run(gy=gya, data=da, gx=gxa)
    return gx


def relu_forward(x) -> np.ndarray:
    """``y = max(x, 0)``. Shape: any -> same."""
    return _forward("relu", x)


def relu_backward(gy, y) -> np.ndarray:
    """``dL/dx = gy · [y > 0]``. Shape: gy, y alike -> same."""
    return _backward("relu", gy, y)


def leaky_relu_forward(x, *, negative_slope: float) -> np.ndarray:
    """``y = x if x > 0 else negative_slope · x``. Shape: any -> same."""
    _positive("leaky_relu", negative_slope)
    return _forward("relu", x, float(negative_slope))


def leaky_relu_backward(gy, y, *, negative_slope: float) -> np.ndarray:
    """``dL/dx = gy · (1 if y > 0 else negative_slope)`` (slope >= 0: y's sign is x's).
    Shape: gy, y alike -> same."""
    _positive("leaky_relu", negative_slope)
    return _backward("relu", gy, y, float(negative_slope))


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


def elu_forward(x, *, alpha: float) -> np.ndarray:
    """``y = x if x > 0 else alpha · (exp(x) - 1)``. Shape: any -> same."""
    _positive("elu", alpha)
    return _forward("elu", x, float(alpha))


def elu_backward(gy, y, *, alpha: float) -> np.ndarray:
    """``dL/dx = gy · (1 if y > 0 else y + alpha)``. Shape: gy, y alike -> same."""
    _positive("elu", alpha)
    return _backward("elu", gy, y, float(alpha))


def gelu_forward(x, *, approximate: str = "none") -> np.ndarray:
    """``y = x · Φ(x)`` (``approximate="tanh"``: PyTorch's tanh formula). Shape: any -> same."""
    return _forward(_gelu(approximate), x)


def gelu_backward(gy, x, *, approximate: str = "none") -> np.ndarray:
    """``dL/dx = gy · (Φ(x) + x · φ(x))`` (or the tanh formula's derivative).
    Shape: gy, x alike -> same."""
    return _backward(_gelu(approximate), gy, x)


def _gelu(approximate: str) -> str:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"oneDNN gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return f"gelu_{approximate}"


def _positive(name: str, alpha: float) -> None:
    # differentiating from y needs y's sign to be x's: alpha >= 0
    if alpha < 0:
        raise ValueError(f"oneDNN {name}: needs a slope/alpha >= 0, got {alpha}")

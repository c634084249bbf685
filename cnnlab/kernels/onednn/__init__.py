"""oneDNN kernels: the CPU library PyTorch itself uses, called through ctypes on NCHW float32
NumPy arrays (the PyPI wheel ``onednn-cpu-gomp==2023.2.0``: oneDNN 3.2 on GNU OpenMP).

Every function takes and returns C-contiguous float32 arrays (the results are fresh arrays
the caller owns); ``padding`` is ``(top, bottom, left, right)`` and ``dilation`` counts as
PyTorch does (1 = dense). float64 never goes through oneDNN (it has no float64 convolution):
``supports`` says no, and the kernel layer runs another kernel.
"""

from __future__ import annotations

import numpy as np

from cnnlab.kernels.onednn import constants as _k
from cnnlab.kernels.onednn.affine import channel_affine, channel_affine_plan
from cnnlab.kernels.onednn.blocked import Blocked
from cnnlab.kernels.onednn.conv import (
    channels_last,
    conv2d_backward_data,
    conv2d_backward_weights,
    conv2d_forward,
    data_plan,
    forward_plan,
    weights_plan,
)
from cnnlab.kernels.onednn.conv_transpose import (
    conv_transpose2d_backward_data,
    conv_transpose2d_backward_weights,
    conv_transpose2d_forward,
)
from cnnlab.kernels.onednn.eltwise import (
    elu_backward,
    elu_forward,
    gelu_backward,
    gelu_forward,
    hardtanh_backward,
    hardtanh_forward,
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_forward,
)
from cnnlab.kernels.onednn.library import WHEEL, OneDNNError, load, wait_policy, why_unavailable
from cnnlab.kernels.onednn.norm import (
    batch_norm_backward,
    batch_norm_inference,
    batch_norm_inference_backward,
    batch_norm_train_forward,
)
from cnnlab.kernels.onednn.pool import (
    MaxPoolState,
    avg_pool2d_backward,
    avg_pool2d_forward,
    max_pool2d_backward,
    max_pool2d_forward,
    pool_geometry,
)
from cnnlab.kernels.onednn.pool import forward_plan as pool_forward_plan
from cnnlab.kernels.onednn.threads import get_num_threads, openmp_runtimes, set_num_threads

# its functions take Blocked images, and return them when asked (blocked=True)
KEEPS_LAYOUT = True

__all__ = [
    "channels_last",
    "Blocked",
    "MaxPoolState",
    "OneDNNError",
    "available",
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "batch_norm_backward",
    "batch_norm_inference",
    "batch_norm_inference_backward",
    "batch_norm_train_forward",
    "channel_affine",
    "conv2d_backward_data",
    "conv2d_backward_weights",
    "conv2d_forward",
    "conv_transpose2d_backward_data",
    "conv_transpose2d_backward_weights",
    "conv_transpose2d_forward",
    "elu_backward",
    "elu_forward",
    "gelu_backward",
    "gelu_forward",
    "get_num_threads",
    "info",
    "hardtanh_backward",
    "hardtanh_forward",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "max_pool2d_backward",
    "max_pool2d_forward",
    "openmp_runtimes",
    "relu_backward",
    "relu_forward",
    "set_num_threads",
    "supports",
    "why_unavailable",
]


def available() -> bool:
    """True when the oneDNN library loaded (``why_unavailable()`` says why not)."""
    return load() is not None


def info() -> dict:
    """What oneDNN is here: version, the instruction set its JIT picked, its threads."""
    lib = load()
    if lib is None:
        return {"available": False, "why": why_unavailable(), "wheel": WHEEL}
    v = lib.dnnl_version().contents
    isa = lib.dnnl_get_effective_cpu_isa()
    return {
        "available": True,
        "version": f"{v.major}.{v.minor}.{v.patch}",
        "commit": (v.hash or b"").decode()[:12],
        "isa": _k.CPU_ISA.get(isa, str(isa)),
        "threads": get_num_threads(),
        "openmp": openmp_runtimes(),
        "wait_policy": wait_policy(),
        "wheel": WHEEL,
    }


def _avg_pool(x, *, count_include_pad, **geo) -> None:
    _, _, grown = pool_geometry(x.shape, dilation=(1, 1), **geo)
    if grown and count_include_pad:
        # PyTorch leaves the rows ceil_mode adds out of the divisor, oneDNN counts them
        raise ValueError("avg_pool2d: ceil_mode windows past the padding with count_include_pad")
    pool_forward_plan(
        "avg_include" if count_include_pad else "avg_exclude",
        x.shape,
        training=False,
        dilation=(1, 1),
        **geo,
    )


class _Shape:
    def __init__(self, shape) -> None:
        self.shape = tuple(shape)


def _batch_norm(x, *rest, **args) -> None:
    if x.ndim < 2:
        raise ValueError("batch norm needs (N, C, ...)")


def _batch_norm_inference(x, *rest, **args) -> None:
    _batch_norm(x)
    n, c, *spatial = x.shape
    channel_affine_plan((n, c, 1, int(np.prod(spatial))) if len(spatial) != 2 else x.shape)


# below this many elements a call's fixed cost (about 10 us through ctypes) loses to NumPy's
# own loop (measured: 16k elements 17 us against 5 us; 256k level, one thread)
ELTWISE_MIN_SIZE = 1 << 16


def _eltwise(
    x, *rest, negative_slope=0.0, alpha=0.0, approximate="none", min_val=-1.0, max_val=1.0
) -> None:
    if x.size < ELTWISE_MIN_SIZE:
        raise ValueError("too small to pay for the call")
    if min(negative_slope, alpha) < 0:
        raise ValueError("oneDNN differentiates from the output: needs alpha >= 0")
    if not min_val < max_val:
        raise ValueError("oneDNN differentiates hardtanh from the output: needs min < max")


_PLANS = {
    "conv2d_forward": lambda x, w, b=None, **a: forward_plan(x.shape, w.shape, b is not None, **a),
    "conv2d_backward_data": lambda gy, w, *, x_shape, **a: data_plan(x_shape, w.shape, **a),
    "conv2d_backward_weights": lambda x, gy, *, w_shape, bias, **a: weights_plan(
        x.shape, w_shape, bias, **a
    ),
    "max_pool2d_forward": lambda x, **geo: pool_forward_plan("max", x.shape, **geo),
    "avg_pool2d_forward": _avg_pool,
    "avg_pool2d_backward": lambda gy, *, x_shape, **a: _avg_pool(_Shape(x_shape), **a),
    "batch_norm_train_forward": _batch_norm,
    "batch_norm_inference": _batch_norm_inference,
    "batch_norm_backward": lambda gy, *rest, **args: _batch_norm(gy),
    "batch_norm_inference_backward": lambda gy, *rest, **args: _batch_norm(gy),
    **{
        f"{name}_{pass_}": _eltwise
        for name in ("relu", "leaky_relu", "elu", "gelu", "hardtanh")
        for pass_ in ("forward", "backward")
    },
}


def supports(op: str, *arrays, **args) -> bool:
    """Whether ``op`` (a function name of this module) runs here on these arguments: the
    same arrays and keywords as the call itself. False for float64 (or any non-float32
    array), when oneDNN is not loaded, for configurations oneDNN has no primitive for (the
    plan is built and cached here, so the call that follows pays nothing more), and where
    NumPy measured faster: element-wise ops under 64k elements.
    """
    if load() is None:
        return False
    if any(isinstance(a, np.ndarray) and a.dtype != np.float32 for a in arrays):
        return False
    build = _PLANS.get(op)
    if build is None:
        return op in __all__
    try:
        build(*arrays, **args)
    except (OneDNNError, ValueError):
        return False
    return True

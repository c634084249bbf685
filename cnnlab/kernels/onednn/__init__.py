"""oneDNN kernels: the CPU library PyTorch itself uses, called through ctypes on float32
NumPy arrays (the PyPI wheel ``onednn-cpu-gomp==2023.2.0``: oneDNN 3.2 on GNU OpenMP).

Every function takes float32 arrays of NCHW shape lying in memory as NCHW or as NHWC
(channels last: :mod:`~cnnlab.kernels.onednn.arrays` reads which from the strides) and
returns fresh arrays the caller owns: the convolutions write NHWC, the other ops keep their
input's layout. ``padding`` is ``(top, bottom, left, right)`` and ``dilation`` counts as
PyTorch does (1 = dense). float64 never goes through oneDNN (it has no float64 convolution):
``supports`` says no, and the kernel layer runs another kernel.
"""

from __future__ import annotations

import numpy as np

from cnnlab.kernels.onednn import arrays
from cnnlab.kernels.onednn import constants as _k
from cnnlab.kernels.onednn.affine import channel_affine, channel_affine_plan
from cnnlab.kernels.onednn.conv import (
    conv2d_backward_data,
    conv2d_backward_weights,
    conv2d_forward,
    data_plan,
    forward_plan_for,
    weights,
    weights_plan,
)
from cnnlab.kernels.onednn.eltwise import (
    add,
    hardtanh_backward,
    hardtanh_forward,
    relu_backward,
    relu_forward,
    same_layout,
)
from cnnlab.kernels.onednn.library import (
    WHEEL,
    OneDNNError,
    load,
    threads_sleep,
    wait_policy,
    why_unavailable,
)
from cnnlab.kernels.onednn.matmul import check as _matmul
from cnnlab.kernels.onednn.matmul import matmul
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
    max_pool2d_inference,
    pool_geometry,
)
from cnnlab.kernels.onednn.pool import forward_plan as pool_forward_plan
from cnnlab.kernels.onednn.reorder import SMALL as REORDER_MIN_SIZE
from cnnlab.kernels.onednn.reorder import contiguous
from cnnlab.kernels.onednn.threads import get_num_threads, openmp_runtimes, set_num_threads

# conv2d_forward applies a residual add and an activation as it writes (conv_post.py)
POST_OPS = True

__all__ = [
    "MaxPoolState",
    "OneDNNError",
    "add",
    "available",
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "batch_norm_backward",
    "batch_norm_inference",
    "batch_norm_inference_backward",
    "batch_norm_train_forward",
    "channel_affine",
    "contiguous",
    "conv2d_backward_data",
    "conv2d_backward_weights",
    "conv2d_forward",
    "get_num_threads",
    "info",
    "hardtanh_backward",
    "hardtanh_forward",
    "matmul",
    "max_pool2d_backward",
    "max_pool2d_forward",
    "max_pool2d_inference",
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


def _avg_pool(x, *, count_include_pad, divisor_override=None, **geo) -> None:
    if divisor_override is not None:
        raise ValueError("avg_pool2d: oneDNN has no divisor_override")
    _, _, grown = pool_geometry(x.shape, dilation=(1, 1), **geo)
    if grown and count_include_pad:
        # PyTorch leaves the rows ceil_mode adds out of the divisor, oneDNN counts them
        raise ValueError("avg_pool2d: ceil_mode windows past the padding with count_include_pad")
    pool_forward_plan(
        "avg_include" if count_include_pad else "avg_exclude",
        x.shape,
        training=False,
        tag=_tag(x),
        dilation=(1, 1),
        **geo,
    )


def _tag(a) -> int:
    return arrays.tag(a.like if isinstance(a, _Shape) else a)


def _max_pool(x, *, return_indices=False, **geo) -> None:
    if return_indices:
        raise ValueError("max_pool2d: PyTorch's flat indices come from the NumPy kernels")
    pool_forward_plan("max", x.shape, tag=_tag(x), **geo)


class _Shape:
    """An image of ``shape`` in the layout of ``like`` (what a backward writes)."""

    def __init__(self, shape, like) -> None:
        self.shape, self.like = tuple(shape), like


def _batch_norm(x, *rest, **args) -> None:
    if x.ndim < 2:
        raise ValueError("batch norm needs (N, C, ...)")


def _batch_norm_inference(x, *rest, **args) -> None:
    _batch_norm(x)
    if arrays.is_nhwc(x):  # the batch-norm primitive, in x's layout
        return
    n, c, *spatial = x.shape
    channel_affine_plan((n, c, 1, int(np.prod(spatial))) if len(spatial) != 2 else x.shape)


# below this many elements a call's fixed cost loses to NumPy's own loop on one thread: about
# 10 us through ctypes (16k elements 17 us against 5 us; 256k level), more where oneDNN's
# threads sleep between kernels and each call wakes them. Measured 2026-12-07 (2 cores,
# AVX-512), LeNet-5 training step (batch 64: ReLUs of 301k and 102k elements), bar at 64k
# against 512k: threads asleep 3.41 against 3.16 ms, threads spinning 2.18 against 2.25.
ELTWISE_MIN_SIZE = 1 << 16  # oneDNN's threads spinning (PyTorch loaded first, or the user's)
ELTWISE_MIN_SIZE_ASLEEP = 1 << 19  # oneDNN's threads asleep (cnnlab's default policy)


def _small(a) -> bool:
    return a.size < (ELTWISE_MIN_SIZE_ASLEEP if threads_sleep() else ELTWISE_MIN_SIZE)


def _add(a, b) -> None:
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or _small(a):
        raise ValueError("too small to pay for the call")
    if not same_layout(a, b):
        raise ValueError("oneDNN adds arrays of one shape and layout (no broadcasting)")


def _contiguous(x) -> None:
    if x.ndim != 4 or x.size < REORDER_MIN_SIZE or not arrays.is_nhwc(x):
        raise ValueError("oneDNN reorders channels-last images of 16k elements or more")


def _eltwise(x, *rest, min_val=-1.0, max_val=1.0) -> None:
    if _small(x):
        raise ValueError("too small to pay for the call")
    if not min_val < max_val:
        raise ValueError("oneDNN differentiates hardtanh from the output: needs min < max")


_PLANS = {
    "conv2d_forward": forward_plan_for,
    "conv2d_backward_data": lambda gy, w, *, x_shape, **a: data_plan(
        x_shape, w.shape, **a, gy_tag=_tag(gy), w_tag=_tag(weights(w, a["groups"], "supports"))
    ),
    "conv2d_backward_weights": lambda x, gy, *, w_shape, bias, **a: weights_plan(
        x.shape, w_shape, bias, **a, x_tag=_tag(x), gy_tag=_tag(gy)
    ),
    "max_pool2d_forward": _max_pool,
    "max_pool2d_inference": _max_pool,
    "avg_pool2d_forward": _avg_pool,
    "avg_pool2d_backward": lambda gy, *, x_shape, **a: _avg_pool(_Shape(x_shape, gy), **a),
    "batch_norm_train_forward": _batch_norm,
    "batch_norm_inference": _batch_norm_inference,
    "add": _add,
    "contiguous": _contiguous,
    "matmul": _matmul,
    "batch_norm_backward": lambda gy, *rest, **args: _batch_norm(gy),
    "batch_norm_inference_backward": lambda gy, *rest, **args: _batch_norm(gy),
    **{
        f"{name}_{pass_}": _eltwise
        for name in ("relu", "hardtanh")
        for pass_ in ("forward", "backward")
    },
}


def supports(op: str, *args, **kwargs) -> bool:
    """Whether ``op`` (a function name of this module) runs here on these arguments: the
    same arrays (their shapes and layouts) and keywords as the call itself. False for
    float64 (or any non-float32 array), when oneDNN is not loaded, for configurations oneDNN
    has no primitive for (the plan is built and cached here, so the call that follows pays
    nothing more), for what only the NumPy kernels do (max pooling's indices, a divisor
    override), and where NumPy measured faster: element-wise ops under 64k elements.
    """
    if load() is None:
        return False
    if any(isinstance(a, np.ndarray) and a.dtype != np.float32 for a in args):
        return False
    build = _PLANS.get(op)
    if build is None:
        return op in __all__
    try:
        build(*args, **kwargs)
    except (OneDNNError, ValueError):
        return False
    return True

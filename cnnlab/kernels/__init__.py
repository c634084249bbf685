"""The kernel layer: the arithmetic of the heavy ops, one function per kernel, each call
run by the backend that suits its arguments.

The ops (:mod:`cnnlab.ops.conv`, ``pool``, ``norm``, ``activation``) hold the contract: the
argument checks, the shapes and the derivation of each gradient. They call the functions of
this module with plain arrays and read plain arrays back::

    y = kernels.conv2d_forward(x, w, b, stride=(1, 1), padding=(1, 1, 1, 1), ...)

Each function asks, once, which backend runs this call (:func:`dispatch.backend_for`, with
the call's own arguments) and runs it there. The backends are modules with one and the
same set of functions (:data:`FUNCTIONS`) on raw arrays:

- ``reference`` (:mod:`cnnlab.kernels.reference`): the textbook NumPy version, im2col + one
  GEMM, col2im, pooling by windows, batch norm by its formulas. Written with
  ``xp = get_array_module(x)``, so it runs on CuPy arrays too.
- ``numpy`` (:mod:`cnnlab.kernels.numpy_fast`): the cache-blocked, threaded NumPy engine.
- ``onednn`` (:mod:`cnnlab.kernels.onednn`, when it is installed and loads): oneDNN's JIT
  kernels through ctypes, float32 only.
- ``cupy``: CuPy arrays run the reference kernels on the GPU (cuDNN is not wired in: no
  GPU was available to test it).

``auto`` (the default, or ``CNNLAB_KERNELS``, or :func:`set_kernels`) prefers oneDNN for
float32 NumPy arrays where it loads and its ``supports`` accepts the call, else ``numpy``
(float64 always goes there: oneDNN has no float64 convolution). :func:`info` says what ran.

Layout lives in the arrays' strides, as PyTorch's ``channels_last``: an image is an array of
NCHW shape whose memory is NCHW or NHWC (``x.transpose(0, 2, 3, 1)`` contiguous). Every
backend reads either (NumPy indexes by shape; the NumPy kernels copy where they need C
order); oneDNN takes its memory format from the strides and may pick its own blocked
formats inside one call; its convolutions write NHWC, so the next convolution, batch norm,
pooling or ReLU runs on it without a reorder. Results keep the input's layout or are NHWC:
no caller needs to know which.

For a backend's author: the functions of :data:`FUNCTIONS`, NCHW-shaped arrays, padding as
(top, bottom, left, right), PyTorch's dilation; ``max_pool2d_inference`` is optional, and
``max_pool2d_indices(state)`` gives PyTorch's flat indices where the backend has them, and
``POST_OPS = True`` says its ``conv2d_forward`` takes ``post=`` and ``addend=`` itself.
oneDNN's module also has ``available()``, ``why_unavailable()``, ``info()`` and
``supports(name, *args, **kwargs)``, called with exactly the arguments of the call.
"""

from __future__ import annotations

from cnnlab.kernels import dispatch
from cnnlab.kernels.dispatch import (
    FUNCTIONS,
    OPS,
    _state,
    get_kernels,
    info,
    set_kernels,
    summary,
)
from cnnlab.kernels.dispatch import backend as _backend
from cnnlab.kernels.dispatch import onednn_module as _onednn

__all__ = [
    "FUNCTIONS",
    "OPS",
    "add",
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "batch_norm_backward",
    "batch_norm_inference",
    "batch_norm_inference_backward",
    "batch_norm_train_forward",
    "contiguous",
    "conv2d_backward_data",
    "conv2d_backward_weights",
    "conv2d_forward",
    "get_kernels",
    "hardtanh_backward",
    "hardtanh_forward",
    "info",
    "matmul",
    "max_pool2d_backward",
    "max_pool2d_forward",
    "max_pool2d_indices",
    "max_pool2d_inference",
    "relu_backward",
    "relu_forward",
    "set_kernels",
    "summary",
]
_ = (_state, _backend, _onednn)  # for tests and tools: the state, the backends, oneDNN


def _run(name: str, *args, **kwargs):
    """Run kernel ``name`` on the backend :func:`dispatch.backend_for` gives this call."""
    return getattr(dispatch.backend_for(name, args, kwargs), name)(*args, **kwargs)


# ----------------------------------------------------------------------------- convolution
def conv2d_forward(x, w, b=None, *, stride, padding, dilation, groups: int, post=(), addend=None):
    """``y = x ⋆ w + b`` (cross-correlation), then the ``post`` chain (inference): ``("add",)``
    adds ``addend`` (y's shape), then ``("relu",)`` or ``("hardtanh", lo, hi)``. oneDNN
    applies the chain as it writes y; the other backends run it after.

    Shape: x ``(N, C, H, W)``, w ``(O, C/groups, KH, KW)``, b ``(O,)`` or None ->
    ``(N, O, OH, OW)``.
    """
    geo = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    post = tuple(tuple(p) for p in post)
    k = dispatch.backend_for("conv2d_forward", (x, w, b), {**geo, "post": post, "addend": addend})
    if post and k.post_ops:  # the chain as oneDNN's post-ops (kernels/onednn/conv_post.py)
        return k.conv2d_forward(x, w, b, **geo, post=post, addend=addend)
    y = k.conv2d_forward(x, w, b, **geo)
    if addend is not None:
        y += addend  # y is the kernel's new array
    for op in post:
        if op[0] == "relu":
            y = k.relu_forward(y)
        elif op[0] == "hardtanh":
            y = k.hardtanh_forward(y, min_val=op[1], max_val=op[2])
    return y


def conv2d_backward_data(gy, w, *, x_shape, stride, padding, dilation, groups: int):
    """``dL/dx``, the transposed convolution of ``gy`` with ``w``.
    Shape: gy ``(N, O, OH, OW)`` -> ``x_shape``."""
    geo = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return _run("conv2d_backward_data", gy, w, x_shape=tuple(x_shape), **geo)


def conv2d_backward_weights(x, gy, *, w_shape, stride, padding, dilation, groups: int, bias):
    """``(dL/dw, dL/db)``, ``dL/db`` None without ``bias``.
    Shape: x ``(N, C, H, W)``, gy ``(N, O, OH, OW)`` -> ``w_shape``, ``(O,)``."""
    geo = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return _run("conv2d_backward_weights", x, gy, w_shape=tuple(w_shape), bias=bias, **geo)


# ------------------------------------------------------------------------------ batch norm
def batch_norm_train_forward(x, weight, bias, *, eps: float):
    """``(y, mean, biased var)`` with the batch's statistics per channel (dim 1)."""
    return _run("batch_norm_train_forward", x, weight, bias, eps=eps)


def batch_norm_inference(x, weight, bias, mean, var, *, eps: float):
    """``y`` with the given (running) statistics."""
    return _run("batch_norm_inference", x, weight, bias, mean, var, eps=eps)


def batch_norm_backward(gy, x, weight, mean, var, *, eps: float):
    """``(dL/dx, dL/dweight, dL/dbias)`` of training batch norm."""
    return _run("batch_norm_backward", gy, x, weight, mean, var, eps=eps)


def batch_norm_inference_backward(gy, x, weight, mean, var, *, eps: float):
    """``(dL/dx, dL/dweight, dL/dbias)`` of batch norm with constant statistics."""
    return _run("batch_norm_inference_backward", gy, x, weight, mean, var, eps=eps)


# --------------------------------------------------------------------------------- pooling
class _PoolState:
    """Max pooling's state for backward: the backend that pooled, and its own state."""

    __slots__ = ("backend", "inner")

    def __init__(self, backend, inner) -> None:
        self.backend, self.inner = backend, inner


def max_pool2d_forward(x, *, kernel, stride, padding, dilation, ceil_mode, return_indices=False):
    """``(y, state)``: window maxima, and what :func:`max_pool2d_backward` (and, with
    ``return_indices``, :func:`max_pool2d_indices`) needs."""
    geo = {
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "ceil_mode": ceil_mode,
    }
    k = dispatch.backend_for("max_pool2d_forward", (x,), {**geo, "return_indices": return_indices})
    y, state = k.max_pool2d_forward(x, **geo)
    return y, _PoolState(k, state)


def max_pool2d_inference(x, *, kernel, stride, padding, dilation, ceil_mode):
    """Window maxima, keeping no state (nothing will ask for a gradient)."""
    geo = {"stride": stride, "padding": padding, "dilation": dilation, "ceil_mode": ceil_mode}
    return _run("max_pool2d_inference", x, kernel=kernel, **geo)


def max_pool2d_backward(gy, state: _PoolState):
    """``dL/dx``, on the backend that ran the forward (the state is its own)."""
    dispatch._record("max_pool2d_backward", gy.dtype, state.backend.name, "the forward's")
    return state.backend.max_pool2d_backward(gy, state.inner)


def max_pool2d_indices(state: _PoolState):
    """PyTorch's flat index of each maximum in its ``H * W`` plane (int64)."""
    return state.backend.module.max_pool2d_indices(state.inner)


def avg_pool2d_forward(
    x, *, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override=None
):
    """Window sums over their divisors."""
    geo = {"kernel": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
    geo.update(count_include_pad=count_include_pad, divisor_override=divisor_override)
    return _run("avg_pool2d_forward", x, **geo)


def avg_pool2d_backward(
    gy, *, x_shape, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override=None
):
    """``dL/dx``: each window's gradient over its divisor, spread over the window."""
    geo = {"kernel": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
    geo.update(count_include_pad=count_include_pad, divisor_override=divisor_override)
    return _run("avg_pool2d_backward", gy, x_shape=tuple(x_shape), **geo)


# ----------------------------------------------------------------------------- activations
def relu_forward(x):
    """``max(x, 0)``, NaN kept (as PyTorch)."""
    return _run("relu_forward", x)


def relu_backward(gy, y):
    """``gy * (y > 0)``."""
    return _run("relu_backward", gy, y)


def hardtanh_forward(x, *, min_val: float, max_val: float):
    """``min(max(x, min_val), max_val)``, NaN kept."""
    return _run("hardtanh_forward", x, min_val=min_val, max_val=max_val)


def hardtanh_backward(gy, y, *, min_val: float, max_val: float):
    """``gy`` where ``min_val < y < max_val``, else 0."""
    return _run("hardtanh_backward", gy, y, min_val=min_val, max_val=max_val)


# -------------------------------------------------------------------------------- addition
def add(a, b):
    """``a + b`` with NumPy's broadcasting (two large arrays of one shape and layout, the
    residual add or two gradients of one tensor, on oneDNN's threads)."""
    return _run("add", a, b)


# ------------------------------------------------------------------------------------ copies
def contiguous(x):
    """``x`` in C order (NCHW for an image): itself where it is, else a copy (what
    ``x.reshape`` needs of a channels-last image it flattens). Shape: the same."""
    return _run("contiguous", x)


# ------------------------------------------------------------------------ matrix product
def matmul(a, b):
    """``a @ b`` for 2-D arrays (a linear layer's products; a transposed view is read as it
    lies). Shape: (M, K), (K, N) -> (M, N)."""
    return _run("matmul", a, b)

"""Activation functions, each a primitive with a hand-written backward.

Gradients at the kinks follow PyTorch: ``relu'(0) = 0``, ``leaky_relu'(0) = negative_slope``,
``hardtanh``/``relu6`` pass the gradient only strictly inside ``(min_val, max_val)``, and
``elu'(0) = alpha``.
"""

from __future__ import annotations

import math

import numpy as np

from cnnlab import kernels
from cnnlab.autograd import Function, Tensor
from cnnlab.backend import get_array_module

__all__ = [
    "ELU",
    "GELU",
    "Hardtanh",
    "LeakyReLU",
    "LogSoftmax",
    "PReLU",
    "ReLU",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "elu",
    "gelu",
    "hardtanh",
    "leaky_relu",
    "log_softmax",
    "prelu",
    "relu",
    "relu6",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "tanh",
]


class ReLU(Function):
    """``max(x, 0)``; ``dL/dx = g * (x > 0)``.

    ``ctx`` is the output ``y`` (alive in the graph anyway; ``y > 0`` exactly where
    ``x > 0``) and nothing else, so a replacement backward for
    :func:`cnnlab.override_backward` reads it directly::

        guided = lambda ctx, g: (g * (ctx > 0) * (g > 0),)    # guided backprop
        deconv = lambda ctx, g: (g * (g > 0),)                # deconvnet
    """

    @staticmethod
    def forward(x):
        y = kernels.relu_forward(x)
        return y, y

    # dL/dx = g * (x > 0) = g * (y > 0)
    @staticmethod
    def backward(ctx, g):
        return (kernels.relu_backward(g, ctx),)


class LeakyReLU(Function):
    @staticmethod
    def forward(x, *, negative_slope=0.01):
        xp = get_array_module(x)
        mask = x > 0
        return xp.where(mask, x, x * negative_slope), (mask, negative_slope)

    # dL/dx = g if x > 0 else g * negative_slope
    @staticmethod
    def backward(ctx, g):
        mask, slope = ctx
        return (get_array_module(g).where(mask, g, g * slope),)


class Hardtanh(Function):
    """``min(max(x, min_val), max_val)`` (ReLU6: 0 and 6); ``dL/dx = g`` strictly inside the
    bounds, else 0. ``ctx`` is ``(y, min_val, max_val)``: for ``min_val < max_val``, ``y`` is
    strictly inside exactly where ``x`` is, so the output (alive in the graph anyway) is all
    backward needs."""

    @staticmethod
    def forward(x, *, min_val=-1.0, max_val=1.0):
        y = kernels.hardtanh_forward(x, min_val=min_val, max_val=max_val)
        return y, (y, min_val, max_val)

    # dL/dx = g where min_val < x < max_val (equivalently min_val < y < max_val), else 0
    @staticmethod
    def backward(ctx, g):
        y, min_val, max_val = ctx
        return (kernels.hardtanh_backward(g, y, min_val=min_val, max_val=max_val),)


class ELU(Function):
    @staticmethod
    def forward(x, *, alpha=1.0):
        xp = get_array_module(x)
        neg = xp.minimum(x, 0)
        return xp.where(x > 0, x, alpha * xp.expm1(neg)), (neg, x > 0, alpha)

    # dL/dx = g if x > 0 else g * alpha * exp(x)
    @staticmethod
    def backward(ctx, g):
        neg, pos, alpha = ctx
        xp = get_array_module(g)
        return (xp.where(pos, g, g * (alpha * xp.exp(neg))),)


def _sigmoid(x):
    # exp of a non-positive number only, so no overflow for large |x|
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1, e) / (1 + e)


class Sigmoid(Function):
    @staticmethod
    def forward(x):
        y = _sigmoid(x)
        return y, y

    # dL/dx = g * y * (1 - y)
    @staticmethod
    def backward(ctx, g):
        return (g * ctx * (1 - ctx),)


class Tanh(Function):
    @staticmethod
    def forward(x):
        y = get_array_module(x).tanh(x)
        return y, y

    # dL/dx = g * (1 - y^2)
    @staticmethod
    def backward(ctx, g):
        return (g * (1 - ctx * ctx),)


class SiLU(Function):
    @staticmethod
    def forward(x):
        s = _sigmoid(x)
        return x * s, (x, s)

    # dL/dx = g * s * (1 + x * (1 - s)),  s = sigmoid(x)
    @staticmethod
    def backward(ctx, g):
        x, s = ctx
        return (g * (s * (1 + x * (1 - s))),)


def _erf(x):
    if get_array_module(x) is np:
        from scipy.special import erf
    else:  # pragma: no cover - CuPy only
        from cupyx.scipy.special import erf
    return erf(x)


class GELU(Function):
    @staticmethod
    def forward(x, *, approximate="none"):
        xp = get_array_module(x)
        if approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            inner = k * (x + 0.044715 * x**3)
            t = xp.tanh(inner)
            return 0.5 * x * (1 + t), (x, t, approximate)
        cdf = 0.5 * (1 + _erf(x * (1 / math.sqrt(2))))
        return (x * cdf).astype(x.dtype, copy=False), (x, cdf, approximate)

    # dL/dx = g * (Phi(x) + x * phi(x))  (tanh form: its exact derivative)
    @staticmethod
    def backward(ctx, g):
        x, c, approximate = ctx
        xp = get_array_module(x)
        if approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            dinner = k * (1 + 3 * 0.044715 * x * x)
            return (g * (0.5 * (1 + c) + 0.5 * x * (1 - c * c) * dinner),)
        pdf = xp.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
        return (g * (c + x * pdf),)


class Softplus(Function):
    """``log(1 + exp(beta x)) / beta``; where ``beta x > threshold``, ``x`` itself."""

    @staticmethod
    def forward(x, *, beta=1.0, threshold=20.0):
        xp = get_array_module(x)
        bx = x * beta
        soft = (xp.log1p(xp.exp(-xp.abs(bx))) + xp.maximum(bx, 0)) / beta  # no overflow
        y = xp.where(bx > threshold, x, soft).astype(x.dtype, copy=False)
        return y, (bx, threshold)

    # dL/dx = g * sigmoid(beta x)  (g where beta x > threshold: the linear part)
    @staticmethod
    def backward(ctx, g):
        bx, threshold = ctx
        return (g * (bx > threshold) + g * _sigmoid(bx) * (bx <= threshold),)


class PReLU(Function):
    """``x if x > 0 else w * x`` with a learnt slope ``w`` broadcast against ``x``."""

    @staticmethod
    def forward(x, w):
        xp = get_array_module(x, w)
        pos = x > 0
        return xp.where(pos, x, w * x).astype(x.dtype, copy=False), (x, w, pos)

    # dL/dx = g if x > 0 else g * w,  dL/dw = g * x where x <= 0 (summed over broadcast dims)
    @staticmethod
    def backward(ctx, g):
        x, w, pos = ctx
        xp = get_array_module(g)
        return xp.where(pos, g, g * w), xp.where(pos, 0, g * x)


class Softmax(Function):
    @staticmethod
    def forward(x, *, dim):
        xp = get_array_module(x)
        e = xp.exp(x - x.max(axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        return e, (e, dim)

    # dL/dx = y * (g - sum(g * y, dim))
    @staticmethod
    def backward(ctx, g):
        y, dim = ctx
        gy = g * y
        return (gy - y * gy.sum(axis=dim, keepdims=True),)


class LogSoftmax(Function):
    @staticmethod
    def forward(x, *, dim):
        xp = get_array_module(x)
        shifted = x - x.max(axis=dim, keepdims=True)
        shifted -= xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        return shifted, (shifted, dim)

    # dL/dx = g - exp(y) * sum(g, dim)
    @staticmethod
    def backward(ctx, g):
        y, dim = ctx
        xp = get_array_module(y)
        return (g - xp.exp(y) * g.sum(axis=dim, keepdims=True),)


# ------------------------------------------------------------------ functional API
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)``; ``inplace`` is accepted for PyTorch compatibility (computed out of place).

    Shape: any; output has the input's shape.
    """
    return ReLU.apply(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x if x > 0 else negative_slope * x``. Shape: any (elementwise)."""
    return LeakyReLU.apply(input, negative_slope=float(negative_slope))


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """Clamp to ``[min_val, max_val]``. Shape: any (elementwise)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
    return Hardtanh.apply(input, min_val=float(min_val), max_val=float(max_val))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)`` (``hardtanh(x, 0, 6)``). Shape: any (elementwise)."""
    return Hardtanh.apply(input, min_val=0.0, max_val=6.0)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x if x > 0 else alpha * (exp(x) - 1)``. Shape: any (elementwise)."""
    return ELU.apply(input, alpha=float(alpha))


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``, computed without overflow. Shape: any (elementwise)."""
    return Sigmoid.apply(input)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent. Shape: any (elementwise)."""
    return Tanh.apply(input)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (swish). Shape: any (elementwise)."""
    return SiLU.apply(input)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)``; ``approximate='tanh'`` uses the tanh formula. Shape: any (elementwise)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(input, approximate=approximate)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold``.

    Shape: any (elementwise)."""
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero")
    return Softplus.apply(input, beta=float(beta), threshold=float(threshold))


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x if x > 0 else weight * x``, ``weight`` one slope or one per channel (dim 1).

    Shape: input ``(N, C, ...)`` or any shape with a 1-element weight; weight ``(1,)`` or
    ``(C,)``; output has the input's shape.
    """
    n = weight.numel() if hasattr(weight, "numel") else np.size(weight)
    if weight.ndim != 1 or (n != 1 and (input.ndim < 2 or input.shape[1] != n)):
        got = tuple(input.shape)
        raise ValueError(
            f"prelu: expected a weight of shape (1,) or (C,) with C = input.shape[1], got "
            f"weight {tuple(weight.shape)} for input {got}"
        )
    if n != 1:
        weight = weight.reshape((n,) + (1,) * (input.ndim - 2))
    return PReLU.apply(input, weight)


def _dim(name: str, input, dim) -> int:
    ndim = input.ndim
    if dim is None:  # PyTorch's legacy implicit choice
        return 0 if ndim in (0, 1, 3) else 1
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise ValueError(f"{name}: dim {dim} out of range for a {ndim}-D input")
    return dim % max(ndim, 1)


def softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """``exp(x) / sum(exp(x), dim)``, shifted by the max for stability.

    Shape: any; output has the input's shape and sums to 1 along ``dim``.
    """
    return Softmax.apply(input, dim=_dim("softmax", input, dim))


def log_softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """``x - logsumexp(x, dim)``, computed stably. Shape: any; output has the input's shape."""
    return LogSoftmax.apply(input, dim=_dim("log_softmax", input, dim))

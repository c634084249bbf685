"""Elementwise arithmetic and math primitives."""

from __future__ import annotations

import numpy as np

from cnnlab import kernels
from cnnlab.autograd import Function
from cnnlab.backend import get_array_module


def sum_gradients(a, b):
    """``a + b`` for the engine, summing two gradients of one shape and dtype (the residual
    add's kernel: two large arrays alike run on all threads)."""
    return kernels.add(a, b)


class Add(Function):
    saves_inputs = False  # backward needs no input values

    @staticmethod
    def forward(a, b):
        return kernels.add(a, b), None

    # dL/da = g, dL/db = g (the engine sums over broadcast dims)
    @staticmethod
    def backward(ctx, g):
        return g, g


class Sub(Function):
    saves_inputs = False  # backward needs no input values

    @staticmethod
    def forward(a, b):
        return a - b, None

    # dL/da = g, dL/db = -g
    @staticmethod
    def backward(ctx, g):
        return g, -g


class Mul(Function):
    @staticmethod
    def forward(a, b):
        return a * b, (a, b)

    # dL/da = g * b, dL/db = g * a
    @staticmethod
    def backward(ctx, g):
        a, b = ctx
        return g * b, g * a


class Div(Function):
    @staticmethod
    def forward(a, b):
        return a / b, (a, b)

    # dL/da = g / b, dL/db = -g * a / b^2
    @staticmethod
    def backward(ctx, g):
        a, b = ctx
        ga = g / b
        return ga, -ga * a / b


class Neg(Function):
    saves_inputs = False  # backward needs no input values

    @staticmethod
    def forward(x):
        return -x, None

    # dL/dx = -g
    @staticmethod
    def backward(ctx, g):
        return (-g,)


class PowScalar(Function):
    @staticmethod
    def forward(x, *, exponent):
        return x**exponent, (x, exponent)

    # dL/dx = g * p * x^(p-1)
    @staticmethod
    def backward(ctx, g):
        x, p = ctx
        if p == 0:
            return (g * 0,)
        return (g * (p * x ** (p - 1)),)


class Pow(Function):
    @staticmethod
    def forward(a, b):
        y = a**b
        return y, (a, b, y)

    # dL/da = g * b * a^(b-1), dL/db = g * a^b * log(a)
    @staticmethod
    def backward(ctx, g):
        a, b, y = ctx
        xp = get_array_module(y)
        ga = g * b * a ** (b - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            gb = g * y * xp.log(xp.where(a > 0, a, 1))
        return ga, gb


class Exp(Function):
    @staticmethod
    def forward(x):
        y = get_array_module(x).exp(x)
        return y, y

    # dL/dx = g * exp(x)
    @staticmethod
    def backward(ctx, g):
        return (g * ctx,)


class Log(Function):
    @staticmethod
    def forward(x):
        return get_array_module(x).log(x), x

    # dL/dx = g / x
    @staticmethod
    def backward(ctx, g):
        return (g / ctx,)


class Sqrt(Function):
    @staticmethod
    def forward(x):
        y = get_array_module(x).sqrt(x)
        return y, y

    # dL/dx = g / (2 sqrt(x))
    @staticmethod
    def backward(ctx, g):
        return (g / (2 * ctx),)


class Abs(Function):
    @staticmethod
    def forward(x):
        xp = get_array_module(x)
        return xp.abs(x), xp.sign(x)

    # dL/dx = g * sign(x)   (0 at x = 0, as PyTorch)
    @staticmethod
    def backward(ctx, g):
        return (g * ctx,)


class Clamp(Function):
    @staticmethod
    def forward(x, *, min=None, max=None):
        xp = get_array_module(x)
        y = xp.clip(x, min, max)
        mask = xp.ones(x.shape, dtype=bool)
        if min is not None:
            mask &= x >= min
        if max is not None:
            mask &= x <= max
        return y.astype(x.dtype, copy=False), mask

    # dL/dx = g where min <= x <= max, else 0
    @staticmethod
    def backward(ctx, g):
        return (g * ctx,)


class Where(Function):
    @staticmethod
    def forward(cond, a, b):
        xp = get_array_module(a, b)
        return xp.where(cond, a, b), cond

    # dL/dcond = None, dL/da = g where cond, dL/db = g where not cond
    @staticmethod
    def backward(ctx, g):
        return None, g * ctx, g * ~ctx


class Erf(Function):
    @staticmethod
    def forward(x):
        if get_array_module(x) is np:
            from scipy.special import erf
        else:  # pragma: no cover - CuPy only
            from cupyx.scipy.special import erf
        return erf(x).astype(x.dtype, copy=False), x

    # dL/dx = g * 2 / sqrt(pi) * exp(-x^2)
    @staticmethod
    def backward(ctx, g):
        xp = get_array_module(ctx)
        return (g * (2 / np.sqrt(np.pi)) * xp.exp(-ctx * ctx),)


def erf(x):
    """The error function ``2 / sqrt(pi) * integral_0^x exp(-t^2) dt``. Shape: any."""
    return Erf.apply(x)


class Cast(Function):
    saves_inputs = False  # backward needs no input values

    @staticmethod
    def forward(x, *, dtype):
        return x.astype(dtype), None

    # dL/dx = g (the engine casts it back to x's dtype)
    @staticmethod
    def backward(ctx, g):
        return (g,)

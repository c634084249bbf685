"""More elementwise primitives: trigonometry, log1p/expm1, maximum/minimum, rounding.

``maximum``/``minimum`` split the gradient evenly between two equal operands, and the
piecewise-constant functions (floor, ceil, round, trunc, sign) have a zero gradient, as in
PyTorch.
"""

from __future__ import annotations

from cnnlab.autograd import Function
from cnnlab.backend import get_array_module

__all__ = ["Cos", "Expm1", "Log1p", "Maximum", "Minimum", "Sin", "Step"]


class Sin(Function):
    @staticmethod
    def forward(x):
        return get_array_module(x).sin(x), x

    # dL/dx = g * cos(x)
    @staticmethod
    def backward(ctx, g):
        return (g * get_array_module(ctx).cos(ctx),)


class Cos(Function):
    @staticmethod
    def forward(x):
        return get_array_module(x).cos(x), x

    # dL/dx = -g * sin(x)
    @staticmethod
    def backward(ctx, g):
        return (-g * get_array_module(ctx).sin(ctx),)


class Log1p(Function):
    @staticmethod
    def forward(x):
        return get_array_module(x).log1p(x), x

    # dL/dx = g / (1 + x)
    @staticmethod
    def backward(ctx, g):
        return (g / (1 + ctx),)


class Expm1(Function):
    @staticmethod
    def forward(x):
        y = get_array_module(x).expm1(x)
        return y, y

    # dL/dx = g * exp(x) = g * (y + 1)
    @staticmethod
    def backward(ctx, g):
        return (g * (ctx + 1),)


class Maximum(Function):
    @staticmethod
    def forward(a, b):
        xp = get_array_module(a, b)
        return xp.maximum(a, b), (a, b)

    # dL/da = g where a > b, g/2 where a == b; dL/db the rest (the engine un-broadcasts)
    @staticmethod
    def backward(ctx, g):
        a, b = ctx
        share = (a > b) + 0.5 * (a == b)
        return g * share, g * (1 - share)


class Minimum(Function):
    @staticmethod
    def forward(a, b):
        xp = get_array_module(a, b)
        return xp.minimum(a, b), (a, b)

    # dL/da = g where a < b, g/2 where a == b; dL/db the rest
    @staticmethod
    def backward(ctx, g):
        a, b = ctx
        share = (a < b) + 0.5 * (a == b)
        return g * share, g * (1 - share)


_STEPS = ("floor", "ceil", "round", "trunc", "sign")


class Step(Function):
    """A piecewise-constant function: ``how`` is one of floor, ceil, round (half to even,
    as PyTorch), trunc, sign."""

    saves_inputs = False  # backward needs no input values

    @staticmethod
    def forward(x, *, how):
        if how not in _STEPS:
            raise ValueError(f"Step: how must be one of {_STEPS}, got {how!r}")
        xp = get_array_module(x)
        return getattr(xp, how)(x), None

    # dL/dx = 0 (the function is flat almost everywhere)
    @staticmethod
    def backward(ctx, g):
        return (g * 0,)

"""Elementwise maths with PyTorch's signatures: ``exp``, ``log``, ``sqrt``, ``clamp``,
``pow``, ``sin``, ``maximum``, ``add(x, y, alpha=2)``, ``where`` ...

Each is one op from :mod:`cnnlab.ops` (elementwise, pointwise, activation) or a short
composite of them; numbers broadcast against tensors as in PyTorch.
"""

from __future__ import annotations

import math
from numbers import Number

from cnnlab.autograd import Tensor
from cnnlab.backend import get_default_dtype
from cnnlab.functions.out import into
from cnnlab.ops import elementwise as _ew
from cnnlab.ops import pointwise as _pw
from cnnlab.promotion import promote

__all__ = [
    "abs",
    "absolute",
    "add",
    "ceil",
    "clamp",
    "clamp_max",
    "clamp_min",
    "clip",
    "cos",
    "div",
    "divide",
    "exp",
    "expm1",
    "floor",
    "floor_divide",
    "lerp",
    "log",
    "log10",
    "log1p",
    "log2",
    "log_softmax",
    "maximum",
    "minimum",
    "mul",
    "multiply",
    "neg",
    "negative",
    "pow",
    "reciprocal",
    "relu",
    "remainder",
    "round",
    "rsqrt",
    "sigmoid",
    "sign",
    "sin",
    "softmax",
    "sqrt",
    "square",
    "sub",
    "subtract",
    "tan",
    "tanh",
    "true_divide",
    "trunc",
    "where",
]


def _act():
    # the activation ops load the kernels' dispatch; imported on first use to keep
    # ``import cnnlab`` fast
    from cnnlab.ops import activation

    return activation


def _promote(a, b):
    """PyTorch's type promotion (cnnlab.promotion)."""
    return promote(a, b)


def exp(input: Tensor) -> Tensor:
    """``e ** x`` elementwise."""
    return _ew.Exp.apply(input)


def log(input: Tensor) -> Tensor:
    """The natural logarithm."""
    return _ew.Log.apply(input)


def log2(input: Tensor) -> Tensor:
    """The base-2 logarithm."""
    return _ew.Log.apply(input) * (1.0 / math.log(2.0))


def log10(input: Tensor) -> Tensor:
    """The base-10 logarithm."""
    return _ew.Log.apply(input) * (1.0 / math.log(10.0))


def log1p(input: Tensor) -> Tensor:
    """``log(1 + x)``, accurate for small ``x``."""
    return _pw.Log1p.apply(input)


def expm1(input: Tensor) -> Tensor:
    """``exp(x) - 1``, accurate for small ``x``."""
    return _pw.Expm1.apply(input)


def sqrt(input: Tensor) -> Tensor:
    """The square root."""
    return _ew.Sqrt.apply(input)


def rsqrt(input: Tensor) -> Tensor:
    """``1 / sqrt(x)``."""
    return 1.0 / _ew.Sqrt.apply(input)


def square(input: Tensor) -> Tensor:
    """``x * x``."""
    return input * input


def reciprocal(input: Tensor) -> Tensor:
    """``1 / x``."""
    return 1.0 / input


def abs(input: Tensor) -> Tensor:
    """``|x|`` (gradient 0 at 0, as PyTorch)."""
    return _ew.Abs.apply(input)


absolute = abs


def neg(input: Tensor) -> Tensor:
    """``-x``."""
    return _ew.Neg.apply(input)


negative = neg


def sin(input: Tensor) -> Tensor:
    """The sine (radians)."""
    return _pw.Sin.apply(input)


def cos(input: Tensor) -> Tensor:
    """The cosine (radians)."""
    return _pw.Cos.apply(input)


def tan(input: Tensor) -> Tensor:
    """The tangent, ``sin / cos``."""
    return _pw.Sin.apply(input) / _pw.Cos.apply(input)


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``."""
    return _act().sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """The hyperbolic tangent."""
    return _act().tanh(input)


def relu(input: Tensor) -> Tensor:
    """``max(x, 0)``."""
    return _act().relu(input)


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``, in ``dtype`` if given."""
    return _act().softmax(input if dtype is None else input.astype(dtype), dim)


def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """``log(softmax(x))`` along ``dim``, computed stably."""
    return _act().log_softmax(input if dtype is None else input.astype(dtype), dim)


def floor(input: Tensor) -> Tensor:
    """Round down (zero gradient)."""
    return _pw.Step.apply(input, how="floor")


def ceil(input: Tensor) -> Tensor:
    """Round up (zero gradient)."""
    return _pw.Step.apply(input, how="ceil")


def trunc(input: Tensor) -> Tensor:
    """Round toward zero (zero gradient)."""
    return _pw.Step.apply(input, how="trunc")


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign (zero gradient)."""
    return _pw.Step.apply(input, how="sign")


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round half to even (as PyTorch); ``decimals`` digits after the point."""
    if decimals == 0:
        return _pw.Step.apply(input, how="round")
    scale = 10.0**decimals
    return _pw.Step.apply(input * scale, how="round") / scale


def pow(input, exponent) -> Tensor:
    """``input ** exponent``; either may be a number."""
    if isinstance(input, Number):
        return _ew.Pow.apply(input, exponent)
    input, exponent = _promote(input, exponent)
    return input**exponent


def maximum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise maximum; equal elements share the gradient evenly."""
    return _pw.Maximum.apply(*_promote(input, other))


def minimum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise minimum; equal elements share the gradient evenly."""
    return _pw.Minimum.apply(*_promote(input, other))


def clamp(input: Tensor, min=None, max=None) -> Tensor:
    """Limit every element to ``[min, max]`` (numbers or tensors; either may be None)."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input if min is None else _pw.Maximum.apply(input, min)
        return out if max is None else _pw.Minimum.apply(out, max)
    return _ew.Clamp.apply(input, min=min, max=max)


clip = clamp


def clamp_min(input: Tensor, min) -> Tensor:
    """``clamp(input, min=min)``."""
    return clamp(input, min=min)


def clamp_max(input: Tensor, max) -> Tensor:
    """``clamp(input, max=max)``."""
    return clamp(input, max=max)


def add(input, other, *, alpha=1, out=None) -> Tensor:
    """``input + alpha * other``."""
    a, b = _promote(input, other)
    return into("add", out, a + (b if alpha == 1 else b * alpha), input, other)


def sub(input, other, *, alpha=1, out=None) -> Tensor:
    """``input - alpha * other``."""
    a, b = _promote(input, other)
    return into("sub", out, a - (b if alpha == 1 else b * alpha), input, other)


subtract = sub


def mul(input, other, *, out=None) -> Tensor:
    """``input * other``."""
    a, b = _promote(input, other)
    return into("mul", out, a * b, input, other)


multiply = mul


def div(input, other, *, rounding_mode: str | None = None, out=None) -> Tensor:
    """``input / other``; ``rounding_mode`` 'trunc' or 'floor' rounds the quotient."""
    if out is not None:
        return into("div", out, div(input, other, rounding_mode=rounding_mode), input, other)
    if rounding_mode not in (None, "trunc", "floor"):
        raise ValueError(
            f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}"
        )
    input, other = _promote(input, other)
    q = input / other
    dtype = input.dtype if isinstance(input, Tensor) else None
    integer = dtype is not None and dtype.kind in "iub"
    if rounding_mode is None:  # true division of integers gives the default float dtype
        return q.astype(get_default_dtype()) if integer and q.dtype.kind == "f" else q
    rounded = _pw.Step.apply(q, how=rounding_mode)
    return rounded.astype(dtype) if integer else rounded


divide = true_divide = div


def floor_divide(input, other) -> Tensor:
    """``floor(input / other)`` (Python's ``//``), in the input's dtype."""
    return div(input, other, rounding_mode="floor")


def remainder(input, other) -> Tensor:
    """``input - other * floor(input / other)``: the sign of ``other``, as Python's ``%``."""
    out = input - other * _pw.Step.apply(input / other, how="floor")
    dtype = input.dtype if isinstance(input, Tensor) else None
    return out.astype(dtype) if dtype is not None and dtype.kind in "iu" else out


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """``input + weight * (end - input)``."""
    return input + weight * (end - input)


def where(condition, input=None, other=None):
    """``input`` where ``condition`` holds, else ``other`` (gradients flow to both); with
    only ``condition``, the tuple of index tensors of its True elements."""
    cond = condition.array if isinstance(condition, Tensor) else condition
    if input is None and other is None:
        return tuple(Tensor._make(i, False) for i in cond.nonzero())
    return _ew.Where.apply(cond, input, other)

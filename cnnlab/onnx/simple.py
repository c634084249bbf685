"""ONNX nodes without weights as cnnlab modules: activations and arithmetic.

Each rule is ``rule(node) -> (module, run-time inputs)``. Float values at run time are
Tensors, so the graph stays differentiable; integer and boolean values follow ONNX's type
rules (``Div`` truncates, ``Pow`` keeps the base's type) and are computed on NumPy arrays,
as no gradient flows through them.
"""

from __future__ import annotations

import numpy as np

import cnnlab.nn.functional as F
from cnnlab import backend, nn
from cnnlab.onnx.node import Node, as_tensor, integral, is_array, make_op, raw, wrap_like
from cnnlab.ops.activation import PReLU, softplus
from cnnlab.ops.elementwise import erf
from cnnlab.ops.misc import Dropout

__all__ = ["SIMPLE"]

SELU_ALPHA = 1.67326319217681884765625
SELU_GAMMA = 1.05070102214813232421875


def _module(factory):
    return lambda n: (factory(n), n.inputs[:1])


# ------------------------------------------------------------------------- activations
def _clip(n: Node):
    if n.opset < 11:
        lo, hi = n.attr("min", -np.inf), n.attr("max", np.inf)
        return make_op("Clip", lambda x: x.clamp(lo, hi), f"min={lo}, max={hi}"), n.inputs[:1]
    lo, hi = (n.const(i) for i in (1, 2))
    late = [n.has(i) and n.const(i) is None for i in (1, 2)]
    if not any(late) and (lo is None or raw(lo).dtype.kind == "f"):
        lo, hi = (None if v is None else float(v) for v in (lo, hi))
        if (lo, hi) == (0.0, 6.0):
            return nn.ReLU6(), n.inputs[:1]
        if lo is not None and hi is not None and lo <= hi:
            return nn.Hardtanh(lo, hi), n.inputs[:1]

    def clip(x, lo=None, hi=None):
        if integral(x):
            lo_, hi_ = (None if v is None else raw(v) for v in (lo, hi))
            y = raw(x)
            y = y if lo_ is None else np.maximum(y, lo_)
            return wrap_like((y if hi_ is None else np.minimum(y, hi_)).astype(raw(x).dtype), x)
        lo_, hi_ = (None if v is None else float(raw(v)) for v in (lo, hi))
        if lo_ is not None and hi_ is not None and lo_ > hi_:  # ONNX: every value becomes max
            return x.clamp(hi_, hi_)
        return x.clamp(lo_, hi_)

    return make_op("Clip", clip), n.inputs[:3]


def _selu(n: Node):
    a, g = n.attr("alpha", SELU_ALPHA), n.attr("gamma", SELU_GAMMA)
    return make_op("Selu", lambda x: F.elu(x, a) * g, f"alpha={a:.4g}, gamma={g:.4g}"), n.inputs[:1]


def _hard_sigmoid(n: Node):
    a, b = n.attr("alpha", 0.2), n.attr("beta", 0.5)
    return make_op(
        "HardSigmoid", lambda x: F.hardtanh(x * a + b, 0.0, 1.0), f"alpha={a:.4g}, beta={b}"
    ), n.inputs[:1]


def _hard_swish(n: Node):
    return make_op("HardSwish", lambda x: x * F.hardtanh(x * (1 / 6) + 0.5, 0.0, 1.0)), n.inputs[:1]


def _gelu(n: Node):
    approximate = n.attr("approximate", "none")
    if approximate not in ("none", "tanh"):
        n.fail(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return nn.GELU(approximate), n.inputs[:1]


def _softplus(n: Node):
    return make_op("Softplus", lambda x: softplus(x, 1.0, np.inf)), n.inputs[:1]


def _prelu(n: Node):
    # ONNX broadcasts the slope against x as NumPy does (a (C, 1, 1) slope: per channel)
    return make_op("PRelu", lambda x, w: PReLU.apply(as_tensor(x), as_tensor(w))), n.inputs[:2]


def _softmax(op: str, fn):
    def rule(n: Node):
        axis = n.attr("axis", -1 if n.opset >= 13 else 1)
        if n.opset >= 13:
            return make_op(op, lambda x: fn(x, axis), f"axis={axis}"), n.inputs[:1]

        def coerced(x):  # before opset 13: over all dims from axis on, as one
            a = axis % x.ndim
            flat = x.reshape(int(np.prod(x.shape[:a])), -1)
            return fn(flat, 1).reshape(x.shape)

        return make_op(op, coerced, f"axis={axis}"), n.inputs[:1]

    return rule


def _dropout(n: Node):
    if n.opset < 7 and n.attr("is_test", 0) == 0:
        n.fail("is_test=0 (random masks) is not supported")
    fixed = n.attr("ratio", 0.5) if n.opset < 12 else None
    mask = len(n.outputs) > 1 and bool(n.outputs[1])
    seed = n.attr("seed")

    def run(x, ratio=None, training=None):
        p = fixed if fixed is not None else (0.5 if ratio is None else float(raw(ratio)))
        if training is None or not bool(raw(training)) or p == 0:
            # inference: the identity, and a mask that keeps everything
            return (x, np.ones(x.shape, bool)) if mask else x
        if not 0 <= p <= 1:
            raise ValueError(f"ratio must lie in [0, 1], got {p}")
        # with a seed, NumPy's seeded MT19937 stream (the one ONNX's reference draws), so
        # a seeded node gives the same mask on every run; without, cnnlab's generator
        draw = np.random.RandomState(int(seed)).uniform if seed is not None else None
        u = draw(0.0, 1.0, x.shape) if draw else backend.default_rng().random(x.shape)
        keep = u >= p
        x = as_tensor(x)
        scale = 0.0 if p == 1 else 1.0 / (1.0 - p)
        y = Dropout.apply(x, mask=(keep * scale).astype(x.dtype))
        return (y, keep) if mask else y

    return make_op("Dropout", run), n.inputs[: 1 if n.opset < 12 else 3]


# ---------------------------------------------------------------------- arithmetic
def _int_div(a, b):
    if np.any(b == 0):
        raise ValueError("integer division by zero")
    if a.dtype.kind == "u" and b.dtype.kind == "u":
        return a // b
    q = np.abs(a) // np.abs(b)  # ONNX (as C) truncates toward zero
    return np.where((a < 0) != (b < 0), -q, q).astype(np.result_type(a, b))


def _pow(a, b):
    base = raw(a).dtype
    if integral(a):  # the result keeps the base's integer type
        return wrap_like(np.power(raw(a), raw(b)).astype(base), a, b)
    if is_array(b) and np.size(b) == 1:
        return as_tensor(a) ** float(np.asarray(b).reshape(()))
    if integral(b):
        b = as_tensor(b).astype(base)
    return as_tensor(a) ** b


def _binary(op: str, fn, int_fn=None):
    def run(a, b):
        if integral(a, b):
            arr = (int_fn or fn)(raw(a), raw(b))
            return wrap_like(np.asarray(arr).astype(np.result_type(raw(a), raw(b))), a, b)
        if is_array(a) and is_array(b):
            return fn(np.asarray(a), np.asarray(b))
        return fn(as_tensor(a), b) if is_array(a) else fn(a, b)

    return lambda n: (make_op(op, run), n.inputs)


def _unary(op: str, fn, int_fn=None):
    def run(x):
        if integral(x):
            if int_fn is None:
                raise ValueError(f"integer input of dtype {raw(x).dtype} is not supported")
            return wrap_like(int_fn(raw(x)).astype(raw(x).dtype), x)
        return fn(as_tensor(x))

    return lambda n: (make_op(op, run), n.inputs[:1])


def _where(n: Node):
    def run(cond, a, b):
        if integral(a, b):
            return wrap_like(np.where(raw(cond), raw(a), raw(b)), cond, a, b)
        from cnnlab.ops.elementwise import Where

        return Where.apply(as_tensor(raw(cond).astype(bool)), as_tensor(a), as_tensor(b))

    return make_op("Where", run), n.inputs[:3]


SIMPLE = {
    "Relu": _module(lambda n: nn.ReLU()),
    "LeakyRelu": _module(lambda n: nn.LeakyReLU(n.attr("alpha", 0.01))),
    "Sigmoid": _module(lambda n: nn.Sigmoid()),
    "Tanh": _module(lambda n: nn.Tanh()),
    "Elu": _module(lambda n: nn.ELU(n.attr("alpha", 1.0))),
    "Selu": _selu,
    "HardSigmoid": _hard_sigmoid,
    "HardSwish": _hard_swish,
    "Gelu": _gelu,
    "Softplus": _softplus,
    "PRelu": _prelu,
    "Clip": _clip,
    "Softmax": _softmax("Softmax", F.softmax),
    "LogSoftmax": _softmax("LogSoftmax", F.log_softmax),
    "Dropout": _dropout,
    "Identity": _module(lambda n: nn.Identity()),
    "Add": _binary("Add", lambda a, b: a + b),
    "Sub": _binary("Sub", lambda a, b: a - b),
    "Mul": _binary("Mul", lambda a, b: a * b),
    "Div": _binary("Div", lambda a, b: a / b, _int_div),
    "Pow": lambda n: (make_op("Pow", _pow), n.inputs),
    "Where": _where,
    "Neg": _unary("Neg", lambda x: -x, np.negative),
    "Abs": _unary("Abs", lambda x: x.abs(), np.abs),
    "Exp": _unary("Exp", lambda x: x.exp()),
    "Log": _unary("Log", lambda x: x.log()),
    "Sqrt": _unary("Sqrt", lambda x: x.sqrt()),
    "Erf": _unary("Erf", erf),
}

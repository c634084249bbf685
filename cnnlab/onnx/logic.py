"""ONNX nodes on many inputs, comparisons and integer helpers: Max, Min, Sum, Mean,
Reciprocal, Floor, Ceil, Mod, Less, Greater, Equal, Not, And, Or, Xor, Size, CastLike, Range,
Tile.

Comparisons and logic give boolean arrays (no gradient, as in PyTorch); Max and Min pick
with ``where`` so the gradient goes to the chosen input (the first on a tie); Floor and
Ceil have a zero gradient almost everywhere and are computed outside the graph.
"""

from __future__ import annotations

import numpy as np

import cnnlab
from cnnlab.onnx.narrow import cast as narrow_cast
from cnnlab.onnx.narrow import is_narrow
from cnnlab.onnx.node import DTYPES, Node, as_tensor, integral, make_op, raw, wrap_like
from cnnlab.ops.elementwise import Where

__all__ = ["LOGIC"]


def _pick(better):
    def run(*xs):
        if integral(*xs):
            out = raw(xs[0])
            for x in xs[1:]:
                out = np.where(better(out, raw(x)) | (out == raw(x)), out, raw(x))
            return wrap_like(out, *xs)
        out = as_tensor(xs[0])
        for x in xs[1:]:
            x = as_tensor(x)
            keep = better(raw(out), raw(x)) | (raw(out) == raw(x))
            out = Where.apply(cnnlab.tensor(keep), out, x)
        return out

    return run


def _sum(*xs):
    if integral(*xs):
        return wrap_like(sum(raw(x) for x in xs[1:]) + raw(xs[0]), *xs)
    out = as_tensor(xs[0])
    for x in xs[1:]:
        out = out + x
    return out


def _variadic(op, fn):
    return lambda n: (make_op(op, fn), n.inputs)


def _compare(op, fn):
    return lambda n: (make_op(op, lambda a, b: wrap_like(fn(raw(a), raw(b)), a, b)), n.inputs[:2])


def _outside(op, fn):
    """An op with a zero (or no) gradient: computed on arrays, the type kept."""

    def run(x):
        return wrap_like(np.asarray(fn(raw(x))).astype(raw(x).dtype), x)

    return lambda n: (make_op(op, run), n.inputs[:1])


def _mod(n: Node):
    fmod = bool(n.attr("fmod", 0))  # 1: the sign of the dividend (C's fmod); 0: the divisor's

    def run(a, b):
        if integral(a, b):
            if np.any(raw(b) == 0):
                raise ValueError("integer modulo by zero")
            return wrap_like((np.fmod if fmod else np.mod)(raw(a), raw(b)), a, b)
        a_, b_ = raw(a), raw(b)
        with np.errstate(all="ignore"):
            value = (np.fmod if fmod else np.mod)(a_, b_)
            k = (np.trunc if fmod else np.floor)(a_ / b_)  # constant almost everywhere
        ok = np.isfinite(a_) & np.isfinite(b_) & np.isfinite(k) & (b_ != 0)
        # a - b * k, differentiable in a and b; NumPy's value where that is inf or nan
        y = as_tensor(a) - as_tensor(b) * cnnlab.tensor(np.where(ok, k, 0).astype(value.dtype))
        return Where.apply(cnnlab.tensor(np.broadcast_to(ok, value.shape)), y, cnnlab.tensor(value))

    return make_op("Mod", run, f"fmod={int(fmod)}"), n.inputs[:2]


def _cast_like(n: Node):
    saturate, round_mode = bool(n.attr("saturate", 1)), n.attr("round_mode", "up")

    def run(x, like):
        dtype = raw(like).dtype
        if is_narrow(dtype) or is_narrow(raw(x).dtype):  # stored, not computed with
            return narrow_cast(raw(x), dtype, saturate, round_mode)
        if dtype not in DTYPES:
            raise ValueError(f"target dtype {dtype} is not supported")
        if integral(x) or dtype.kind in "iub":
            return wrap_like(raw(x).astype(dtype), x)
        return as_tensor(x).astype(dtype)

    return make_op("CastLike", run), n.inputs[:2]


def _range(n: Node):
    def run(start, limit, delta):
        a, b, d = (raw(v) for v in (start, limit, delta))
        count = int(max(np.ceil((float(b) - float(a)) / float(d)), 0))
        return (a + np.arange(count, dtype=np.result_type(a, b, d)) * d).astype(a.dtype)

    return make_op("Range", run), n.inputs[:3]


def _tile(n: Node):
    def run(x, repeats):
        reps = [int(r) for r in raw(repeats).reshape(-1)]
        if integral(x):
            return wrap_like(np.tile(raw(x), reps), x)
        x = as_tensor(x)
        for axis, k in enumerate(reps):
            if k != 1:
                x = (
                    cnnlab.cat([x] * k, dim=axis)
                    if k
                    else x[(slice(None),) * axis + (slice(0, 0),)]
                )
        return x

    return make_op("Tile", run), n.inputs[:2]


LOGIC = {
    "Max": _variadic("Max", _pick(np.greater)),
    "Min": _variadic("Min", _pick(np.less)),
    "Sum": _variadic("Sum", _sum),
    "Mean": _variadic("Mean", lambda *xs: _sum(*xs) / len(xs)),
    "Reciprocal": lambda n: (make_op("Reciprocal", lambda x: 1.0 / as_tensor(x)), n.inputs[:1]),
    "Floor": _outside("Floor", np.floor),
    "Ceil": _outside("Ceil", np.ceil),
    "Sign": _outside("Sign", np.sign),
    "Less": _compare("Less", np.less),
    "LessOrEqual": _compare("LessOrEqual", np.less_equal),
    "Greater": _compare("Greater", np.greater),
    "GreaterOrEqual": _compare("GreaterOrEqual", np.greater_equal),
    "Equal": _compare("Equal", np.equal),
    "And": _compare("And", np.logical_and),
    "Or": _compare("Or", np.logical_or),
    "Xor": _compare("Xor", np.logical_xor),
    "Not": lambda n: (make_op("Not", lambda x: wrap_like(np.logical_not(raw(x)), x)), n.inputs[:1]),
    "Size": lambda n: (
        make_op("Size", lambda x: np.asarray(int(np.prod(x.shape)), np.int64)),
        n.inputs[:1],
    ),
    "CastLike": _cast_like,
    "Mod": _mod,
    "Range": _range,
    "Tile": _tile,
}

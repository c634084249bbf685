"""ONNX nodes without weights as cnnlab modules: activations, arithmetic, shapes.

Each rule is ``rule(node) -> (module, run-time inputs)``. Values at run time are Tensors, or
NumPy arrays for integer shape arithmetic (``Shape`` -> ``Gather`` -> ``Concat`` ->
``Reshape``, as PyTorch writes ``x.view(x.size(0), -1)``); an op on arrays only stays NumPy.
"""

from __future__ import annotations

import numpy as np

import cnnlab
import cnnlab.nn.functional as F
from cnnlab import nn
from cnnlab.onnx.node import Node, as_tensor, is_array, make_op

__all__ = ["SIMPLE"]

SELU_ALPHA = 1.67326319217681884765625
SELU_GAMMA = 1.05070102214813232421875


def _module(factory):
    return lambda n: (factory(n), n.inputs[:1])


# ------------------------------------------------------------------------- activations
def _clip(n: Node):
    if n.opset < 11:
        lo, hi = n.attr("min"), n.attr("max")
    else:
        lo, hi = (None if v is None else float(v) for v in (n.const(1), n.const(2)))
        for i in (1, 2):
            if i < len(n.inputs) and n.inputs[i] and n.const(i) is None:
                n.fail("bounds computed at run time are not supported")
    if (lo, hi) == (0.0, 6.0):
        return nn.ReLU6(), n.inputs[:1]
    if lo is not None and hi is not None:
        return nn.Hardtanh(lo, hi), n.inputs[:1]
    return make_op("Clip", lambda x: x.clamp(lo, hi), f"min={lo}, max={hi}"), n.inputs[:1]


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
    if len([o for o in n.outputs if o]) > 1:
        n.fail("the mask output is not supported")
    p = n.attr("ratio", 0.5) if n.opset < 12 else n.const(1)
    return nn.Dropout(0.5 if p is None else float(p)), n.inputs[:1]


# ---------------------------------------------------------------------- arithmetic
def _binary(op: str, fn):
    def run(a, b):
        if is_array(a) and is_array(b):
            return fn(np.asarray(a), np.asarray(b))
        return fn(as_tensor(a), b) if is_array(a) else fn(a, b)

    return lambda n: (make_op(op, run), n.inputs)


def _unary(op: str, fn):
    return lambda n: (make_op(op, fn), n.inputs[:1])


# --------------------------------------------------------------------------- shapes
def _axes(n: Node, i: int, what: str = "axes"):
    """Axes from the attribute (older opsets) or the constant input ``i``."""
    v = n.attr("axes")
    if v is None and i < len(n.inputs) and n.inputs[i]:
        v = n.need_const(i, what)
    return None if v is None else [int(a) for a in np.asarray(v).reshape(-1)]


def _reshape_to(x, shape):
    return x.reshape(shape) if not is_array(x) else np.asarray(x).reshape(shape)


def _reshape(n: Node):
    allowzero = n.attr("allowzero", 0)

    def run(x, shape):
        dims = [int(d) for d in np.asarray(shape).reshape(-1)]
        if not allowzero:
            dims = [x.shape[i] if d == 0 else d for i, d in enumerate(dims)]
        return _reshape_to(x, tuple(dims))

    const = n.const(1)
    if const is not None:
        shape = tuple(int(d) for d in const)
        return make_op("Reshape", lambda x: run(x, shape), f"shape={shape}"), n.inputs[:1]
    return make_op("Reshape", run), n.inputs[:2]


def _flatten(n: Node):
    axis = n.attr("axis", 1)
    if axis == 1:
        return nn.Flatten(), n.inputs[:1]

    def run(x):
        a = axis % x.ndim if x.ndim else 0
        return _reshape_to(x, (int(np.prod(x.shape[:a])), -1))

    return make_op("Flatten", run, f"axis={axis}"), n.inputs[:1]


def _transpose(n: Node):
    perm = n.attr("perm")

    def run(x):
        p = tuple(perm) if perm is not None else tuple(reversed(range(x.ndim)))
        return np.transpose(x, p) if is_array(x) else x.permute(p)

    return make_op("Transpose", run, f"perm={perm}"), n.inputs[:1]


def _squeeze(n: Node):
    axes = _axes(n, 1)

    def run(x):
        ax = [i for i, d in enumerate(x.shape) if d == 1] if axes is None else axes
        ax = {a % x.ndim for a in ax}
        return _reshape_to(x, tuple(d for i, d in enumerate(x.shape) if i not in ax))

    return make_op("Squeeze", run, f"axes={axes}"), n.inputs[:1]


def _unsqueeze(n: Node):
    axes = _axes(n, 1)
    if axes is None:
        n.fail("axes are required")

    def run(x):
        rank = x.ndim + len(axes)
        shape = list(x.shape)
        for a in sorted(a % rank for a in axes):
            shape.insert(a, 1)
        return _reshape_to(x, tuple(shape))

    return make_op("Unsqueeze", run, f"axes={axes}"), n.inputs[:1]


def _concat(n: Node):
    axis = n.attr("axis")

    def run(*xs):
        if all(is_array(x) for x in xs):
            return np.concatenate([np.atleast_1d(x) for x in xs], axis=axis)
        return cnnlab.cat([as_tensor(x) for x in xs], dim=axis)

    return make_op("Concat", run, f"axis={axis}"), n.inputs


def _pad(n: Node):
    mode = n.attr("mode", "constant")
    if mode != "constant":
        n.fail(f"only mode='constant' is supported, got {mode!r}")
    if n.opset < 11:
        pads, value = n.attr("pads"), n.attr("value", 0.0)
    else:
        pads = n.need_const(1, "pads").tolist()
        v = n.const(2)
        value = 0.0 if v is None else float(v)
    axes = _axes(n, 3) if n.opset >= 18 else None
    if min(pads) < 0:
        n.fail(f"negative pads {pads} are not supported")

    def run(x):
        ax = list(range(x.ndim)) if axes is None else [a % x.ndim for a in axes]
        k = len(ax)
        begin, end = dict(zip(ax, pads[:k])), dict(zip(ax, pads[k:]))
        flat = []
        for d in reversed(range(x.ndim)):
            flat += [begin.get(d, 0), end.get(d, 0)]
        return cnnlab.pad(x, tuple(flat), value=value)

    return make_op("Pad", run, f"pads={pads}, value={value}"), n.inputs[:1]


def _slice(n: Node):
    if n.opset < 10:
        given = [n.attr("starts"), n.attr("ends"), n.attr("axes"), None]
    else:
        given = [n.need_const(1, "starts"), n.need_const(2, "ends")]
        given += [
            n.need_const(i, w) if i < len(n.inputs) and n.inputs[i] else None
            for i, w in ((3, "axes"), (4, "steps"))
        ]
    starts, ends = (np.asarray(v, np.int64).reshape(-1).tolist() for v in given[:2])
    axes = list(range(len(starts))) if given[2] is None else np.asarray(given[2]).tolist()
    steps = [1] * len(starts) if given[3] is None else np.asarray(given[3]).tolist()

    def run(x):
        index = [slice(None)] * x.ndim
        for a, lo, hi, st in zip(axes, starts, ends, steps):
            index[a % x.ndim] = slice(lo, hi, st)
        return np.asarray(x)[tuple(index)] if is_array(x) else x[tuple(index)]

    describe = f"starts={starts}, ends={ends}, axes={axes}, steps={steps}"
    return make_op("Slice", run, describe), n.inputs[:1]


def _constant_of_shape(n: Node):
    value = n.attr("value")
    fill = np.zeros(1, np.float32) if value is None else n.onnx.numpy_helper.to_array(value)
    return make_op("ConstantOfShape", lambda s: np.full(tuple(np.asarray(s)), fill.reshape(()))), [
        n.inputs[0]
    ]


def _shape(n: Node):
    start, end = n.attr("start", 0), n.attr("end")
    return make_op("Shape", lambda x: np.asarray(x.shape[start:end], np.int64)), n.inputs[:1]


def _gather(n: Node):
    axis = n.attr("axis", 0)

    def run(x, idx):
        idx = np.asarray(idx, np.int64)
        if is_array(x):
            return np.take(np.asarray(x), idx, axis=axis)
        index = (slice(None),) * (axis % x.ndim) + (int(idx) if idx.ndim == 0 else idx,)
        return x[index]

    return make_op("Gather", run, f"axis={axis}"), n.inputs[:2]


def _cast(n: Node):
    dtype = np.dtype(n.onnx.helper.tensor_dtype_to_np_dtype(n.attr("to")))

    def run(x):
        return np.asarray(x).astype(dtype) if is_array(x) else x.astype(dtype)

    return make_op("Cast", run, f"to={dtype}"), n.inputs[:1]


def _reduce(op: str, fn, axes_input_from: int):
    def rule(n: Node):
        axes = _axes(n, 1) if n.opset >= axes_input_from else n.attr("axes")
        keep = bool(n.attr("keepdims", 1))
        if axes is None and n.attr("noop_with_empty_axes", 0):
            return nn.Identity(), n.inputs[:1]
        dim = None if axes is None else tuple(axes)
        return make_op(op, lambda x: fn(x, dim, keep), f"axes={axes}, keepdims={int(keep)}"), [
            n.inputs[0]
        ]

    return rule


SIMPLE = {
    "Relu": _module(lambda n: nn.ReLU()),
    "LeakyRelu": _module(lambda n: nn.LeakyReLU(n.attr("alpha", 0.01))),
    "Sigmoid": _module(lambda n: nn.Sigmoid()),
    "Tanh": _module(lambda n: nn.Tanh()),
    "Elu": _module(lambda n: nn.ELU(n.attr("alpha", 1.0))),
    "Selu": _selu,
    "HardSigmoid": _hard_sigmoid,
    "HardSwish": _hard_swish,
    "Clip": _clip,
    "Softmax": _softmax("Softmax", F.softmax),
    "LogSoftmax": _softmax("LogSoftmax", F.log_softmax),
    "Dropout": _dropout,
    "Identity": _module(lambda n: nn.Identity()),
    "Add": _binary("Add", lambda a, b: a + b),
    "Sub": _binary("Sub", lambda a, b: a - b),
    "Mul": _binary("Mul", lambda a, b: a * b),
    "Div": _binary("Div", lambda a, b: a / b),
    "Pow": _binary("Pow", lambda a, b: a ** (float(b) if is_array(b) and np.size(b) == 1 else b)),
    "Neg": _unary("Neg", lambda x: -x),
    "Exp": _unary("Exp", lambda x: x.exp()),
    "Log": _unary("Log", lambda x: x.log()),
    "Sqrt": _unary("Sqrt", lambda x: x.sqrt()),
    "Abs": _unary("Abs", lambda x: x.abs()),
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Transpose": _transpose,
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "Concat": _concat,
    "Pad": _pad,
    "Slice": _slice,
    "Shape": _shape,
    "ConstantOfShape": _constant_of_shape,
    "Gather": _gather,
    "Cast": _cast,
    "ReduceMean": _reduce("ReduceMean", lambda x, d, k: x.mean(dim=d, keepdim=k), 18),
    "ReduceSum": _reduce("ReduceSum", lambda x, d, k: x.sum(dim=d, keepdim=k), 13),
    "ReduceMax": _reduce("ReduceMax", lambda x, d, k: x.amax(dim=d, keepdim=k), 18),
}

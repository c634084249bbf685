"""ONNX shape and index nodes as cnnlab modules: reshapes, slices, pads, splits, casts.

Integer arguments (shapes, axes, starts, pads) are read from constants when the graph has
them there, else at run time from the value fed in (an array or an integer Tensor), as
ONNX's own backend tests give every input at run time. Values stay Tensors (differentiable)
or NumPy arrays (shape arithmetic, ``Shape`` -> ``Gather`` -> ``Reshape``).
"""

from __future__ import annotations

import numpy as np

import cnnlab
from cnnlab import nn
from cnnlab.onnx.narrow import cast as narrow_cast
from cnnlab.onnx.narrow import is_narrow
from cnnlab.onnx.node import DTYPES, Node, as_tensor, is_array, make_op, raw, wrap_like
from cnnlab.ops.shape import pad as _pad_fn

__all__ = ["SHAPES"]


def _ints(v) -> list:
    return [int(a) for a in raw(v).reshape(-1)]


def _axes_or_late(n: Node, i: int):
    """``(axes or None, run-time index or None)``: the attribute (older opsets), a constant
    input ``i``, or input ``i`` read at run time."""
    if n.attr("axes") is not None:
        return list(n.attr("axes")), None
    if n.has(i):
        return (n.ints(i), None) if n.const(i) is not None else (None, i)
    return None, None


def _reshape_to(x, shape):
    return x.reshape(shape) if not is_array(x) else np.asarray(x).reshape(shape)


def _reshape(n: Node):
    allowzero = n.attr("allowzero", 0)

    def run(x, shape):
        dims = _ints(shape)
        if not allowzero:
            dims = [x.shape[i] if d == 0 else d for i, d in enumerate(dims)]
        return _reshape_to(x, tuple(dims))

    const = n.ints(1)
    if const is not None:
        return make_op("Reshape", lambda x: run(x, const), f"shape={tuple(const)}"), n.inputs[:1]
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
    axes, late = _axes_or_late(n, 1)

    def run(x, given=None):
        ax = axes if given is None else _ints(given)
        ax = [i for i, d in enumerate(x.shape) if d == 1] if ax is None else ax
        ax = {a % x.ndim for a in ax}
        if any(x.shape[a] != 1 for a in ax):
            raise ValueError(f"cannot squeeze axes {sorted(ax)} of shape {tuple(x.shape)}")
        return _reshape_to(x, tuple(d for i, d in enumerate(x.shape) if i not in ax))

    return make_op("Squeeze", run, f"axes={axes}"), n.inputs[: 2 if late else 1]


def _unsqueeze(n: Node):
    axes, late = _axes_or_late(n, 1)
    if axes is None and late is None:
        n.fail("axes are required")

    def run(x, given=None):
        ax = axes if given is None else _ints(given)
        rank = x.ndim + len(ax)
        shape = list(x.shape)
        for a in sorted(a % rank for a in ax):
            shape.insert(a, 1)
        return _reshape_to(x, tuple(shape))

    return make_op("Unsqueeze", run, f"axes={axes}"), n.inputs[: 2 if late else 1]


def _concat(n: Node):
    axis = n.attr("axis")

    def run(*xs):
        if all(is_array(x) for x in xs):
            return np.concatenate([np.atleast_1d(x) for x in xs], axis=axis)
        return cnnlab.cat([as_tensor(x) for x in xs], dim=axis)

    return make_op("Concat", run, f"axis={axis}"), n.inputs


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}


def _pad(n: Node):
    mode = n.attr("mode", "constant")
    if mode not in _PAD_MODES:
        n.fail(f"mode must be one of {', '.join(_PAD_MODES)}, got {mode!r}")
    old = n.opset < 11
    axes_at = 3 if n.opset >= 18 and n.has(3) else None

    def run(x, pads=None, value=None, given=None):
        axes = None if given is None else _ints(given)
        p = list(n.attr("pads")) if old else _ints(pads)
        v = n.attr("value", 0.0) if old else (0 if value is None else raw(value).item())
        ax = list(range(x.ndim)) if axes is None else [a % x.ndim for a in axes]
        if len(p) != 2 * len(ax):
            raise ValueError(f"expected {2 * len(ax)} pads for {len(ax)} axes, got {len(p)}")
        if min(p, default=0) < 0:
            raise ValueError(f"negative pads {p} are not supported")
        begin, end = dict(zip(ax, p[: len(ax)])), dict(zip(ax, p[len(ax) :]))
        flat = []
        for d in reversed(range(x.ndim)):
            flat += [begin.get(d, 0), end.get(d, 0)]
        if is_array(x) or raw(x).dtype.kind in "iub":
            widths = [(begin.get(d, 0), end.get(d, 0)) for d in range(x.ndim)]
            np_mode = {"constant": "constant", "reflect": "reflect"}.get(mode, mode)
            kw = {"constant_values": v} if mode == "constant" else {}
            return wrap_like(np.pad(raw(x), widths, mode=np_mode, **kw), x)
        return _pad_fn(x, tuple(flat), mode=_PAD_MODES[mode], value=float(v))

    return make_op("Pad", run, f"mode={mode}"), n.inputs[: 1 if old else (4 if axes_at else 3)]


def _slice(n: Node):
    if n.opset < 10:
        fixed = [n.attr("starts"), n.attr("ends"), n.attr("axes"), None]
        takes = n.inputs[:1]
    else:
        fixed, takes = None, n.inputs[:5]

    def run(x, *given):
        vals = fixed if fixed is not None else [None if g is None else _ints(g) for g in given]
        vals = list(vals) + [None] * (4 - len(vals))
        starts, ends, axes, steps = vals
        axes = list(range(len(starts))) if axes is None else axes
        steps = [1] * len(starts) if steps is None else steps
        index = [slice(None)] * x.ndim
        for a, lo, hi, st in zip(axes, starts, ends, steps):
            if st == 0:
                raise ValueError("a step of 0")
            size = x.shape[a % x.ndim]
            lo, hi = (v + size if v < 0 else v for v in (lo, hi))  # ONNX's clamping
            if st > 0:
                lo, hi = min(max(lo, 0), size), min(max(hi, 0), size)
            else:
                lo, hi = min(max(lo, 0), size - 1), min(max(hi, -1), size - 1)
            index[a % x.ndim] = slice(lo, None if hi < 0 else hi, st)
        return np.asarray(x)[tuple(index)] if is_array(x) else x[tuple(index)]

    return make_op("Slice", run), takes


def _split(n: Node):
    axis = n.attr("axis", 0)
    count = len(n.outputs)
    fixed = n.attr("split") if n.opset < 13 else None

    def run(x, given=None):
        size = x.shape[axis % x.ndim]
        parts = list(fixed) if fixed is not None else (None if given is None else _ints(given))
        if parts is None:  # equal parts, the last one smaller (opset 18's num_outputs)
            step = -(-size // count)
            parts = [min(step, size - i * step) for i in range(count)]
        if sum(parts) != size or len(parts) != count:
            raise ValueError(f"split {parts} does not cut a dim of {size} into {count} parts")
        out, at = [], 0
        for k in parts:
            index = (slice(None),) * (axis % x.ndim) + (slice(at, at + k),)
            out.append(np.asarray(x)[index] if is_array(x) else x[index])
            at += k
        return tuple(out)

    return make_op("Split", run, f"axis={axis}"), n.inputs[: 1 if n.opset < 13 else 2]


def _expand(n: Node):
    def run(x, shape):
        target = np.broadcast_shapes(tuple(x.shape), tuple(_ints(shape)))
        if is_array(x) or raw(x).dtype.kind in "iub":
            return wrap_like(np.broadcast_to(raw(x), target).copy(), x)
        return x.expand(*target)

    return make_op("Expand", run), n.inputs[:2]


def _constant_of_shape(n: Node):
    value = n.attr("value")
    fill = np.zeros(1, np.float32) if value is None else n.onnx.numpy_helper.to_array(value)

    def run(shape):
        return np.full(tuple(_ints(shape)), fill.reshape(()))

    return make_op("ConstantOfShape", run), [n.inputs[0]]


def _shape(n: Node):
    start, end = n.attr("start", 0), n.attr("end")
    return make_op("Shape", lambda x: np.asarray(x.shape[start:end], np.int64)), n.inputs[:1]


def _gather(n: Node):
    axis = n.attr("axis", 0)

    def run(x, idx):
        idx = raw(idx).astype(np.int64)
        if is_array(x) or raw(x).dtype.kind in "iub":
            return wrap_like(np.take(raw(x), idx, axis=axis), x)
        index = (slice(None),) * (axis % x.ndim) + (int(idx) if idx.ndim == 0 else idx,)
        return x[index]

    return make_op("Gather", run, f"axis={axis}"), n.inputs[:2]


def _cast(n: Node):
    to = n.attr("to")
    try:
        dtype = np.dtype(n.onnx.helper.tensor_dtype_to_np_dtype(to))
    except Exception:
        dtype = None
    if dtype not in DTYPES and not is_narrow(dtype):
        n.fail(f"to={n.onnx.TensorProto.DataType.Name(to)} is not a supported dtype")
    saturate, round_mode = bool(n.attr("saturate", 1)), n.attr("round_mode", "up")

    def run(x):
        if is_narrow(dtype) or is_narrow(raw(x).dtype):  # stored, not computed with
            return narrow_cast(raw(x), dtype, saturate, round_mode)
        if is_array(x) or raw(x).dtype.kind in "iub" or dtype.kind in "iub":
            return wrap_like(raw(x).astype(dtype), x)
        return x.astype(dtype)

    return make_op("Cast", run, f"to={dtype}"), n.inputs[:1]


SHAPES = {
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Transpose": _transpose,
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "Concat": _concat,
    "Pad": _pad,
    "Slice": _slice,
    "Split": _split,
    "Expand": _expand,
    "Shape": _shape,
    "ConstantOfShape": _constant_of_shape,
    "Gather": _gather,
    "Cast": _cast,
}

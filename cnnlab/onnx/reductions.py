"""ONNX reductions as cnnlab modules: ReduceMean, ReduceSum, ReduceMax, ReduceMin.

ONNX's rules: ``axes`` is an attribute before opset 13 (ReduceSum) or 18 (the others), an
optional input after; no axes, or an empty axes input, reduces every dim unless
``noop_with_empty_axes=1`` (then the input passes through). A max over an empty set is
``-inf`` (the identity of max; the least integer for integer types), a sum ``0``. Integer
and boolean inputs are reduced in NumPy in their own type.
"""

from __future__ import annotations

import numpy as np

from cnnlab.onnx.node import Node, integral, is_array, make_op, raw, wrap_like

__all__ = ["REDUCTIONS"]


def _identity(np_fn, dtype):
    """The value of an empty ``np_fn`` reduction in ``dtype`` (max: -inf or the least int)."""
    if np_fn is np.max:
        return (
            -np.inf if dtype.kind == "f" else (False if dtype.kind == "b" else np.iinfo(dtype).min)
        )
    if np_fn is np.min:
        return np.inf if dtype.kind == "f" else (True if dtype.kind == "b" else np.iinfo(dtype).max)
    return None


def _numpy_reduce(np_fn, x, dim, keep):
    a = raw(x)
    initial = _identity(np_fn, a.dtype)
    kw = {"initial": initial} if initial is not None and a.size == 0 else {}
    if np_fn is np.mean and a.dtype.kind in "iub":
        return wrap_like(np.mean(a, axis=dim, keepdims=keep).astype(a.dtype), x)
    return wrap_like(np.asarray(np_fn(a, axis=dim, keepdims=keep, **kw)).astype(a.dtype), x)


def _reduce(op: str, tensor_fn, np_fn, axes_input_from: int):
    def rule(n: Node):
        keep = bool(n.attr("keepdims", 1))
        noop = bool(n.attr("noop_with_empty_axes", 0))
        late = n.opset >= axes_input_from and n.has(1) and n.const(1) is None
        fixed = n.attr("axes") if n.opset < axes_input_from else n.ints(1)

        def run(x, given=None):
            axes = _ints_or_none(given) if late else fixed
            if not axes:  # None or []: every dim, unless the node says pass through
                if noop:
                    return x
                axes = list(range(x.ndim))
            dim = tuple(a % max(x.ndim, 1) for a in axes)
            if integral(x) or raw(x).size == 0 or is_array(x):
                return _numpy_reduce(np_fn, x, dim, keep)
            return tensor_fn(x, dim, keep)

        describe = f"axes={fixed}, keepdims={int(keep)}"
        return make_op(op, run, describe), n.inputs[: 2 if late else 1]

    return rule


def _ints_or_none(v):
    return None if v is None else [int(a) for a in raw(v).reshape(-1)]


def _amin(x, dim, keep):
    return -((-x).amax(dim=dim, keepdim=keep))


REDUCTIONS = {
    "ReduceMean": _reduce("ReduceMean", lambda x, d, k: x.mean(dim=d, keepdim=k), np.mean, 18),
    "ReduceSum": _reduce("ReduceSum", lambda x, d, k: x.sum(dim=d, keepdim=k), np.sum, 13),
    "ReduceMax": _reduce("ReduceMax", lambda x, d, k: x.amax(dim=d, keepdim=k), np.max, 18),
    "ReduceMin": _reduce("ReduceMin", _amin, np.min, 18),
}

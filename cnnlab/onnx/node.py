"""What the import rules share: :class:`Node` (one ONNX node, its attributes and constant
inputs) and :class:`Op` (a parameter-free node as a module)."""

from __future__ import annotations

import numpy as np

import cnnlab
from cnnlab import nn
from cnnlab.autograd import Tensor

__all__ = [
    "DTYPES",
    "Node",
    "Op",
    "as_tensor",
    "dtype_checked",
    "is_array",
    "integral",
    "make_op",
    "raw",
    "supported_onnx_dtypes",
    "wrap_like",
]

# the NumPy dtypes cnnlab computes with (ONNX's bfloat16, float8, int4, strings... are not)
DTYPES = frozenset(
    np.dtype(t)
    for t in (
        "float16 float32 float64 int8 int16 int32 int64 uint8 uint16 uint32 uint64 bool"
    ).split()
)


def dtype_checked(array, where: str):
    """``array`` if cnnlab computes with its dtype, else a one-line error naming ``where``."""
    dtype = getattr(array, "dtype", None)
    if dtype not in DTYPES:
        raise ValueError(f"{where}: dtype {dtype} is not supported")
    return array


def supported_onnx_dtypes(onnx) -> set:
    """The ONNX ``TensorProto`` element types of :data:`DTYPES`."""
    return {onnx.helper.np_dtype_to_tensor_dtype(d) for d in DTYPES}


class Node:
    """One ONNX node with its attributes, its opset and the constant values of its inputs."""

    def __init__(self, proto, opset: int, consts: dict, onnx) -> None:
        self.op, self.name = proto.op_type, proto.name or proto.op_type
        self.inputs, self.outputs = list(proto.input), list(proto.output)
        self.opset, self._consts, self.onnx = opset, consts, onnx
        self.attrs = {a.name: onnx.helper.get_attribute_value(a) for a in proto.attribute}
        for k, v in self.attrs.items():
            if isinstance(v, bytes):
                self.attrs[k] = v.decode()
            elif isinstance(v, list) and v and isinstance(v[0], bytes):
                self.attrs[k] = [b.decode() for b in v]

    def attr(self, key: str, default=None):
        return self.attrs.get(key, default)

    def const(self, i: int):
        """The constant value of input ``i`` (None if absent or computed at run time)."""
        if i >= len(self.inputs) or not self.inputs[i]:
            return None
        return self._consts.get(self.inputs[i])

    def need_const(self, i: int, what: str):
        v = self.const(i)
        if v is None:
            raise ValueError(f"node {self.name!r} ({self.op}): {what} must be a constant")
        return v

    def has(self, i: int) -> bool:
        """Whether optional input ``i`` is given."""
        return i < len(self.inputs) and bool(self.inputs[i])

    def ints(self, i: int):
        """Input ``i`` as a list of ints if it is a constant; None if absent or run-time."""
        v = self.const(i)
        return None if v is None else [int(a) for a in np.asarray(v).reshape(-1)]

    def fail(self, why: str):
        raise ValueError(f"node {self.name!r} ({self.op}): {why}")


class Op(nn.Module):
    """A parameter-free ONNX node: ``fn(*inputs)``, shown as ``OpType(attributes)``."""

    def __init__(self, op_type: str, fn, describe: str = "") -> None:
        super().__init__()
        self.op_type, self.fn, self.describe = op_type, fn, describe

    def _get_name(self) -> str:
        return self.op_type

    def extra_repr(self) -> str:
        return self.describe

    def forward(self, *xs):
        return self.fn(*xs)


_OP_CLASSES: dict[str, type] = {}


def make_op(op_type: str, fn, describe: str = "") -> Op:
    """An :class:`Op` whose class is named after the ONNX op (``Add``, ``Concat``), so that
    summaries and reprs show the op type."""
    cls = _OP_CLASSES.get(op_type)
    if cls is None:
        cls = _OP_CLASSES[op_type] = type(op_type, (Op,), {"__module__": __name__})
    return cls(op_type, fn, describe)


def is_array(v) -> bool:
    return isinstance(v, np.ndarray) or np.isscalar(v)


def as_tensor(v):
    return v if isinstance(v, Tensor) else cnnlab.tensor(np.asarray(v))


def raw(v) -> np.ndarray:
    """A run-time value (Tensor or array) as a NumPy array."""
    return v.numpy() if isinstance(v, Tensor) else np.asarray(v)


def integral(*vs) -> bool:
    """Whether every value is an integer or boolean array (no gradient flows through it)."""
    return all(raw(v).dtype.kind in "iub" for v in vs)


def wrap_like(result, *sources):
    """``result`` (an array) as a Tensor if any source was one, so that Tensors stay Tensors."""
    return (
        cnnlab.tensor(np.asarray(result)) if any(isinstance(s, Tensor) for s in sources) else result
    )

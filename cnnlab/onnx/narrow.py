"""ONNX's narrow dtypes (bfloat16, the float8 and float4 formats, int4/uint4, int2/uint2):
cnnlab stores and converts them but does not compute with them.

A value of such a dtype stays a NumPy array of the ``ml_dtypes`` type the ``onnx`` package
reads it as (never a Tensor, no gradient); only ``Cast`` and ``CastLike`` read it, and a
graph in which another op would read one is refused at load (:func:`narrow_readers`).
:func:`cast` follows ONNX's Cast: to the float8 formats with ``saturate=1`` (the default)
a value beyond the format's range becomes its largest finite value, with ``saturate=0``
infinity or NaN as the format has; to ``FLOAT8E8M0`` (a power of two ``2^(e-127)``, no sign
and no zero) the float32 exponent is kept and ``round_mode`` ``up``/``down``/``nearest``
says what a non-zero mantissa does; other conversions round to nearest, ties to even
(``ml_dtypes``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["NARROW", "cast", "is_narrow", "narrow_readers"]

NARROW = frozenset(
    "BFLOAT16 FLOAT8E4M3FN FLOAT8E4M3FNUZ FLOAT8E5M2 FLOAT8E5M2FNUZ FLOAT8E8M0 FLOAT4E2M1 "
    "INT4 UINT4 INT2 UINT2".split()
)
_FLOAT8 = ("float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz")
READERS = ("Cast", "CastLike")


_NUMPY_NAMES = frozenset(
    ("bfloat16", "float8_e8m0fnu", "float4_e2m1fn", "int4", "uint4", "int2", "uint2", *_FLOAT8)
)


def is_narrow(dtype) -> bool:
    """Whether a NumPy dtype is one of ONNX's narrow types (an ``ml_dtypes`` type)."""
    return str(dtype) in _NUMPY_NAMES


def _to_e8m0(x: np.ndarray, saturate: bool, round_mode: str) -> np.ndarray:
    import ml_dtypes

    bits = np.asarray(x, dtype=np.float32).view(np.uint32)
    exponent = ((bits >> 23) & 0xFF).astype(np.uint16)
    fraction = bits & 0x7FFFFF
    special = exponent == 0xFF  # inf and NaN
    if round_mode == "up":
        up = fraction > 0
    elif round_mode == "nearest":  # above half, or exactly half of a normal number
        up = (fraction > 0x400000) | ((fraction == 0x400000) & (exponent > 0))
    elif round_mode == "down":
        up = np.zeros(bits.shape, bool)
    else:
        raise ValueError(f"round_mode {round_mode!r} is not supported (up, down, nearest)")
    if saturate:
        up &= exponent < 0xFE
    exponent = np.where(special, 0xFF, np.minimum(exponent + up, 0xFF)).astype(np.uint8)
    return exponent.view(ml_dtypes.float8_e8m0fnu)


def cast(x, dtype, saturate: bool = True, round_mode: str = "up") -> np.ndarray:
    """``x`` (a NumPy array) as ``dtype`` by ONNX's Cast rules (see the module docstring).

    Shape: any; output has the input's shape.
    """
    import ml_dtypes

    x, dtype = np.asarray(x), np.dtype(dtype)
    if is_narrow(x.dtype) and dtype.kind != "b":
        x = x if x.dtype.kind in "iu" and dtype.kind in "iu" else x.astype(np.float32)
    if dtype.name == "float8_e8m0fnu":
        return _to_e8m0(x, saturate, round_mode)
    if dtype.name in _FLOAT8 and saturate:
        info = ml_dtypes.finfo(dtype)
        x = np.clip(x.astype(np.float32), np.float32(info.min), np.float32(info.max))
    return x.astype(dtype)


def narrow_readers(graph, onnx, consts: dict) -> list[str]:
    """One line per node of ``graph`` that would read a narrow value and is not a Cast or
    CastLike (narrow values: graph inputs and initializers of a narrow dtype, and what Cast
    or CastLike make of them)."""
    names = {onnx.TensorProto.DataType.Value(n) for n in NARROW}
    narrow = {v.name for v in graph.input if v.type.tensor_type.elem_type in names}
    narrow |= {k for k, v in consts.items() if is_narrow(v.dtype)}
    problems = []
    for node in graph.node:
        to = next((a.i for a in node.attribute if a.name == "to"), None)
        if node.op_type == "Cast" and to in names:
            narrow.add(node.output[0])
        elif node.op_type == "CastLike" and len(node.input) > 1 and node.input[1] in narrow:
            narrow.add(node.output[0])
        if node.op_type in READERS:
            continue
        for name in node.input:
            if name in narrow:
                problems.append(
                    f"node {node.name or node.op_type!r} ({node.op_type}): input {name!r} "
                    "has a narrow dtype (bfloat16, float8, float4, int4, int2), which only "
                    "Cast and CastLike read"
                )
                break
    return problems

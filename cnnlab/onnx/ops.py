"""The op table, both directions.

:data:`EXPORTERS` maps a cnnlab op (a :class:`~cnnlab.autograd.Function` by class name) to a
rule ``rule(builder, inputs, kwargs, output) -> ONNX value name`` that writes its nodes
through :class:`cnnlab.onnx.export.GraphBuilder`. :data:`IMPORTERS` maps an ONNX op type to a
rule ``rule(node) -> Module`` that builds the cnnlab module running it (the rules live in
:mod:`cnnlab.onnx.layers` and :mod:`cnnlab.onnx.simple`).
"""

from __future__ import annotations

import math

import numpy as np

from cnnlab.kernels.windows import pair
from cnnlab.onnx.caption_rules import CAPTION_EXPORTERS
from cnnlab.onnx.control import CONTROL
from cnnlab.onnx.export_rules import MORE_EXPORTERS
from cnnlab.onnx.layers import WEIGHTED
from cnnlab.onnx.logic import LOGIC
from cnnlab.onnx.norms import NORMS
from cnnlab.onnx.pooling import POOLING
from cnnlab.onnx.recurrent import RECURRENT_EXPORTERS, RECURRENT_IMPORTERS
from cnnlab.onnx.reductions import REDUCTIONS
from cnnlab.onnx.resize import RESIZE
from cnnlab.onnx.shapes import SHAPES
from cnnlab.onnx.simple import SIMPLE

__all__ = ["EXPORTERS", "IMPORTERS"]

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


def _unary(op: str, **attr_of_kwarg):
    """One input; ``attr_of_kwarg`` names the op keyword each ONNX attribute comes from."""

    def rule(b, args, kw, out):
        attrs = {a: float(kw[k]) for a, k in attr_of_kwarg.items()}
        return b.node(op, [b.name(args[0])], **attrs)[0]

    return rule


def _binary(op: str):
    def rule(b, args, kw, out):
        return b.node(op, [b.name(a, out.dtype) for a in args[:2]])[0]

    return rule


# ------------------------------------------------------------------ layers with weights
def _conv(b, args, kw, out):
    x, w, bias = args
    top, bottom, left, right = kw["padding"]
    return b.node(
        "Conv",
        [b.name(x), b.name(w), b.name(bias)] if bias is not None else [b.name(x), b.name(w)],
        kernel_shape=list(w.shape[2:]),
        strides=list(kw["stride"]),
        pads=[top, left, bottom, right],
        dilations=list(kw["dilation"]),
        group=kw["groups"],
    )[0]


def _conv_transpose(b, args, kw, out):
    x, w, bias = args
    ph, pw = kw["padding"]
    names = [b.name(x), b.name(w)] + ([b.name(bias)] if bias is not None else [])
    return b.node(
        "ConvTranspose",
        names,
        kernel_shape=list(w.shape[2:]),
        strides=list(kw["stride"]),
        pads=[ph, pw, ph, pw],
        output_padding=list(kw["output_padding"]),
        dilations=list(kw["dilation"]),
        group=kw["groups"],
    )[0]


def _batch_norm(b, args, kw, out):
    x, weight, bias = args
    if kw.get("training"):
        raise ValueError("export: batch norm ran in training mode; export needs model.eval()")
    c = x.shape[1]
    scale = b.name(weight) if weight is not None else b.const(np.ones(c, out.dtype))
    shift = b.name(bias) if bias is not None else b.const(np.zeros(c, out.dtype))
    names = [b.name(x), scale, shift, b.name(kw["mean"]), b.name(kw["var"])]
    return b.node("BatchNormalization", names, epsilon=float(kw["eps"]))[0]


def _linear(b, args, kw, out):
    x, w, bias = args
    if x.ndim == 2:
        names = [b.name(x), b.name(w)] + ([b.name(bias)] if bias is not None else [])
        return b.node("Gemm", names, transB=1)[0]
    y = b.node("MatMul", [b.name(x), b.const(np.ascontiguousarray(w.numpy().T))])[0]
    return b.node("Add", [y, b.name(bias)])[0] if bias is not None else y


# ------------------------------------------------------------------------- activations
def _hardtanh(b, args, kw, out):
    lo, hi = (b.const(np.asarray(kw[k], out.dtype)) for k in ("min_val", "max_val"))
    return b.node("Clip", [b.name(args[0]), lo, hi])[0]


def _clamp(b, args, kw, out):
    bounds = [
        b.const(np.asarray(kw[k], out.dtype)) if kw.get(k) is not None else ""
        for k in ("min", "max")
    ]
    return b.node("Clip", [b.name(args[0]), *bounds])[0]


def _silu(b, args, kw, out):
    x = b.name(args[0])
    return b.node("Mul", [x, b.node("Sigmoid", [x])[0]])[0]


def _gelu(b, args, kw, out):
    x, dt = b.name(args[0]), out.dtype
    half, one = b.const(np.asarray(0.5, dt)), b.const(np.asarray(1.0, dt))
    if kw.get("approximate") == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = b.node("Mul", [x, b.node("Mul", [x, x])[0]])[0]
        inner = b.node("Add", [x, b.node("Mul", [cube, b.const(np.asarray(0.044715, dt))])[0]])
        k = b.const(np.asarray(math.sqrt(2 / math.pi), dt))
        t = b.node("Tanh", [b.node("Mul", [inner[0], k])[0]])[0]
    else:  # 0.5 x (1 + erf(x / sqrt(2)))
        t = b.node("Erf", [b.node("Div", [x, b.const(np.asarray(math.sqrt(2), dt))])[0]])[0]
    return b.node("Mul", [b.node("Mul", [x, half])[0], b.node("Add", [t, one])[0]])[0]


def _softmax(op: str):
    def rule(b, args, kw, out):
        return b.node(op, [b.name(args[0])], axis=int(kw["dim"]))[0]

    return rule


# --------------------------------------------------------------------------- pooling
def _pool_attrs(kw, dilation=True):
    k = pair(kw["kernel_size"])
    s = k if kw.get("stride") in (None, (), []) else pair(kw["stride"])
    p = pair(kw.get("padding", 0))
    attrs = dict(kernel_shape=list(k), strides=list(s), pads=[p[0], p[1], p[0], p[1]])
    attrs["ceil_mode"] = int(bool(kw.get("ceil_mode")))
    if dilation:
        attrs["dilations"] = list(pair(kw.get("dilation", 1)))
    return attrs


def _max_pool(b, args, kw, out):
    if kw.get("return_indices"):
        raise ValueError("export: max_pool2d with return_indices=True cannot be exported")
    return b.node("MaxPool", [b.name(args[0])], **_pool_attrs(kw))[0]


def _avg_pool(b, args, kw, out):
    if kw.get("divisor_override") is not None:
        raise ValueError("export: avg_pool2d with divisor_override cannot be exported")
    attrs = _pool_attrs(kw, dilation=False)
    attrs["count_include_pad"] = int(bool(kw.get("count_include_pad", True)))
    return b.node("AveragePool", [b.name(args[0])], **attrs)[0]


def _adaptive(global_op: str, op: str):
    def rule(b, args, kw, out):
        x = args[0]
        size = tuple(kw["output_size"])
        if size == (1, 1):
            return b.node(global_op, [b.name(x)])[0]
        h, w = x.shape[2:]
        if h % size[0] or w % size[1]:
            raise ValueError(
                f"export: adaptive pooling from {(h, w)} to {size} has uneven bins; ONNX "
                "pooling needs the input size to be a multiple of the output size"
            )
        k = [h // size[0], w // size[1]]
        return b.node(op, [b.name(x)], kernel_shape=k, strides=k, pads=[0, 0, 0, 0])[0]

    return rule


# ---------------------------------------------------------------------- shape and index
def _reshape(b, args, kw, out):
    x = args[0]
    src, dst = tuple(x.shape), tuple(out.shape)
    name = b.name(x)
    if not b.dynamic_batch or not src:
        return b.node("Reshape", [name, b.ints(dst)])[0]
    n = src[0]
    if len(src) >= 2 and dst == (n, int(np.prod(src[1:]))):
        return b.node("Flatten", [name], axis=1)[0]
    if dst == (1, *src):  # a new leading axis (stacking the states of recurrent layers)
        return b.node("Unsqueeze", [name, b.ints([0])])[0]
    if src == (1, *dst):
        return b.node("Squeeze", [name, b.ints([0])])[0]
    if dst and dst[0] == n:
        shape = (0, *dst[1:])  # 0: copy dim 0 (the batch) from the input
    elif dst and n > 1 and dst[0] % n == 0 and dst[0] // n in np.cumprod(src[1:]):
        shape = (-1, *dst[1:])  # the batch and the dims after it folded into dim 0
    else:
        raise ValueError(
            f"export: a reshape from {src} to {dst} does not keep the batch dimension; "
            "export with dynamic_batch=False (or an example batch of 2 or more)"
        )
    return b.node("Reshape", [name, b.ints(shape)])[0]


def _permute(b, args, kw, out):
    return b.node("Transpose", [b.name(args[0])], perm=[int(d) for d in kw["dims"]])[0]


def _cat(b, args, kw, out):
    return b.node("Concat", [b.name(a, out.dtype) for a in args], axis=int(kw["dim"]))[0]


def _pad(b, args, kw, out):
    x, pad = args[0], list(kw["pad"])
    begins, ends = [0] * x.ndim, [0] * x.ndim
    for i in range(len(pad) // 2):
        begins[x.ndim - 1 - i], ends[x.ndim - 1 - i] = pad[2 * i], pad[2 * i + 1]
    value = b.const(np.asarray(kw.get("value", 0.0), out.dtype))
    return b.node("Pad", [b.name(x), b.ints(begins + ends), value], mode="constant")[0]


def _get_item(b, args, kw, out):
    x, index = args[0], kw["index"]
    items = list(index) if isinstance(index, tuple) else [index]
    if not all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items):
        raise ValueError("export: indexing with arrays or masks cannot be exported")
    if Ellipsis in items:
        at = items.index(Ellipsis)
        fill = x.ndim - sum(i is not None for i in items if i is not Ellipsis)
        items[at : at + 1] = [slice(None)] * fill
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    dim = 0
    for pos, item in enumerate(items):
        if item is None:
            unsqueeze.append(pos)
            continue
        if isinstance(item, int):
            starts, ends = starts + [item], ends + [item + 1 if item != -1 else INT64_MAX]
            axes, steps = axes + [dim], steps + [1]
            squeeze.append(dim)
        elif item != slice(None):
            step = 1 if item.step is None else item.step
            lo = INT64_MAX if step < 0 else 0
            hi = INT64_MIN if step < 0 else INT64_MAX
            starts.append(lo if item.start is None else item.start)
            ends.append(hi if item.stop is None else item.stop)
            axes, steps = axes + [dim], steps + [step]
        dim += 1
    y = b.name(x)
    if axes:
        y = b.node("Slice", [y, b.ints(starts), b.ints(ends), b.ints(axes), b.ints(steps)])[0]
    if squeeze:
        y = b.node("Squeeze", [y, b.ints(squeeze)])[0]
    if unsqueeze:
        y = b.node("Unsqueeze", [y, b.ints([p - sum(s < p for s in squeeze) for p in unsqueeze])])
        y = y[0]
    return y if y != b.name(x) else b.node("Identity", [y])[0]


def _reduce(op: str, axes_as_input_from: int):
    def rule(b, args, kw, out):
        x = args[0]
        dim = kw.get("dim")
        axes = (
            list(range(x.ndim)) if dim is None else ([dim] if isinstance(dim, int) else list(dim))
        )
        keep = int(bool(kw.get("keepdim")))
        if b.opset >= axes_as_input_from:
            return b.node(op, [b.name(x), b.ints(axes)], keepdims=keep)[0]
        return b.node(op, [b.name(x)], axes=axes, keepdims=keep)[0]

    return rule


def _pow_scalar(b, args, kw, out):
    return b.node("Pow", [b.name(args[0]), b.const(np.asarray(kw["exponent"], out.dtype))])[0]


def _cast(b, args, kw, out):
    to = b.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(kw["dtype"]))
    return b.node("Cast", [b.name(args[0])], to=int(to))[0]


def _where(b, args, kw, out):
    cond, x, y = args
    return b.node("Where", [b.name(cond), b.name(x, out.dtype), b.name(y, out.dtype)])[0]


def _dropout(b, args, kw, out):
    raise ValueError("export: dropout ran in training mode; export needs model.eval()")


EXPORTERS = {
    "Conv2d": _conv,
    "ConvTranspose2d": _conv_transpose,
    "BatchNorm": _batch_norm,
    "Linear": _linear,
    "MatMul": _binary("MatMul"),
    "ReLU": _unary("Relu"),
    "LeakyReLU": _unary("LeakyRelu", alpha="negative_slope"),
    "ELU": _unary("Elu", alpha="alpha"),
    "Hardtanh": _hardtanh,
    "Clamp": _clamp,
    "Sigmoid": _unary("Sigmoid"),
    "Tanh": _unary("Tanh"),
    "SiLU": _silu,
    "GELU": _gelu,
    "Softmax": _softmax("Softmax"),
    "LogSoftmax": _softmax("LogSoftmax"),
    "MaxPool2d": _max_pool,
    "AvgPool2d": _avg_pool,
    "AdaptiveAvgPool2d": _adaptive("GlobalAveragePool", "AveragePool"),
    "AdaptiveMaxPool2d": _adaptive("GlobalMaxPool", "MaxPool"),
    "Dropout": _dropout,
    "Reshape": _reshape,
    "Permute": _permute,
    "Cat": _cat,
    "Pad": _pad,
    "GetItem": _get_item,
    "Add": _binary("Add"),
    "Sub": _binary("Sub"),
    "Mul": _binary("Mul"),
    "Div": _binary("Div"),
    "Pow": _binary("Pow"),
    "PowScalar": _pow_scalar,
    "Neg": _unary("Neg"),
    "Exp": _unary("Exp"),
    "Log": _unary("Log"),
    "Sqrt": _unary("Sqrt"),
    "Abs": _unary("Abs"),
    "Sum": _reduce("ReduceSum", 13),
    "Amax": _reduce("ReduceMax", 18),
    "Cast": _cast,
    "Where": _where,
    **RECURRENT_EXPORTERS,
    **MORE_EXPORTERS,
    **CAPTION_EXPORTERS,
}

IMPORTERS = {
    **WEIGHTED,
    **POOLING,
    **SIMPLE,
    **SHAPES,
    **REDUCTIONS,
    **NORMS,
    **RESIZE,
    **RECURRENT_IMPORTERS,
    **LOGIC,
    **CONTROL,
}

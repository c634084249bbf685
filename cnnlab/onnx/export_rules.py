"""Export rules of the ops added with ONNX conformance: layer norm, softplus, PReLU, erf,
padding by reflection/replication/wrapping, and interpolation (``F.interpolate``,
``nn.Upsample``). Each is ``rule(builder, inputs, kwargs, output) -> ONNX value name``, as
in :data:`cnnlab.onnx.ops.EXPORTERS`, where they are listed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MORE_EXPORTERS"]


def _layer_norm(b, args, kw, out):
    x, weight, bias = args
    k, eps, dt = kw["k"], float(kw["eps"]), out.dtype
    shape = tuple(x.shape[x.ndim - k :])
    if b.opset >= 17:
        scale = b.name(weight) if weight is not None else b.const(np.ones(shape, dt))
        names = [b.name(x), scale] + ([b.name(bias)] if bias is not None else [])
        return b.node("LayerNormalization", names, axis=-k, epsilon=eps)[0]
    # opset 13-16: the formula op by op (ReduceMean takes its axes as an attribute there)
    mean = b.node("ReduceMean", [b.name(x)], axes=list(range(-k, 0)), keepdims=1)[0]
    xc = b.node("Sub", [b.name(x), mean])[0]
    var = b.node("ReduceMean", [b.node("Mul", [xc, xc])[0]], axes=list(range(-k, 0)), keepdims=1)
    std = b.node("Sqrt", [b.node("Add", [var[0], b.const(np.asarray(eps, dt))])[0]])[0]
    y = b.node("Div", [xc, std])[0]
    if weight is not None:
        y = b.node("Mul", [y, b.name(weight)])[0]
    return b.node("Add", [y, b.name(bias)])[0] if bias is not None else y


def _softplus(b, args, kw, out):
    x, dt = b.name(args[0]), out.dtype
    beta, threshold = float(kw["beta"]), float(kw["threshold"])
    bx = x if beta == 1 else b.node("Mul", [x, b.const(np.asarray(beta, dt))])[0]
    soft = b.node("Softplus", [bx])[0]
    if beta != 1:
        soft = b.node("Div", [soft, b.const(np.asarray(beta, dt))])[0]
    if not np.isfinite(threshold):
        return soft
    linear = b.node("Greater", [bx, b.const(np.asarray(threshold, dt))])[0]
    return b.node("Where", [linear, x, soft])[0]


def _prelu(b, args, kw, out):
    return b.node("PRelu", [b.name(args[0]), b.name(args[1], out.dtype)])[0]


def _pad_indexed(b, args, kw, out):
    x, pad = args[0], list(kw["pad"])
    mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[kw["mode"]]
    if mode == "wrap" and b.opset < 19:
        raise ValueError("export: circular padding needs opset 19 or later (Pad mode 'wrap')")
    begins, ends = [0] * x.ndim, [0] * x.ndim
    for i in range(len(pad) // 2):
        begins[x.ndim - 1 - i], ends[x.ndim - 1 - i] = pad[2 * i], pad[2 * i + 1]
    return b.node("Pad", [b.name(x), b.ints(begins + ends)], mode=mode)[0]


_COORDS = {
    ("nearest", False): ("asymmetric", "floor"),
    ("nearest-exact", False): ("half_pixel", "round_prefer_ceil"),
    ("linear", False): ("pytorch_half_pixel", None),
    ("linear", True): ("align_corners", None),
    ("cubic", False): ("half_pixel", None),
    ("cubic", True): ("align_corners", None),
}


def _interpolate(b, args, kw, out):
    x = args[0]
    mode = kw.get("mode")
    if mode is None:  # built by cnnlab.onnx.resize from ONNX's own coordinate rules
        raise ValueError("export: a Resize loaded from ONNX cannot be exported again")
    kind = {"linear": "linear", "bilinear": "linear", "trilinear": "linear", "bicubic": "cubic"}
    kind = kind.get(mode, "nearest")
    coord, nearest = _COORDS[(mode if kind == "nearest" else kind, bool(kw.get("align_corners")))]
    attrs = {"mode": kind, "coordinate_transformation_mode": coord}
    if nearest:
        attrs["nearest_mode"] = nearest
    if kind == "cubic":
        attrs["cubic_coeff_a"] = -0.5 if kw.get("antialias") else -0.75
    if kw.get("antialias"):  # PyTorch's antialiasing drops the taps outside, as PIL
        if b.opset < 18:
            raise ValueError(f"export: antialiased interpolation needs opset 18+, got {b.opset}")
        attrs.update(antialias=1, exclude_outside=1, coordinate_transformation_mode="half_pixel")
    spatial = list(out.shape[2:])
    if b.opset >= 18:  # sizes of the spatial axes only, so the batch stays free
        sizes = b.ints(spatial)
        axes = list(range(2, x.ndim))
        return b.node("Resize", [b.name(x), "", "", sizes], axes=axes, **attrs)[0]
    scales = [1.0, 1.0] + [o / i for o, i in zip(spatial, x.shape[2:])]
    scales = np.asarray(scales, np.float32)
    if any(int(np.floor(np.float32(i) * s)) != o for i, s, o in zip(x.shape, scales, out.shape)):
        raise ValueError(f"export: resizing {tuple(x.shape)} to {tuple(out.shape)} needs opset 18+")
    return b.node("Resize", [b.name(x), "", b.const(scales)], **attrs)[0]


MORE_EXPORTERS = {
    "LayerNorm": _layer_norm,
    "Softplus": _softplus,
    "PReLU": _prelu,
    "Erf": lambda b, args, kw, out: b.node("Erf", [b.name(args[0])])[0],
    "PadIndexed": _pad_indexed,
    "Interpolate": _interpolate,
}

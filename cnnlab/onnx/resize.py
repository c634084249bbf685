"""ONNX Resize and Upsample as cnnlab modules, run by cnnlab's separable interpolation op
(:class:`cnnlab.ops.misc.Interpolate`, the one ``F.interpolate`` uses, with its backward).

Per resized axis the output position ``y`` maps to an input coordinate ``x`` by
``coordinate_transformation_mode`` (``half_pixel``: ``(y + 0.5) / scale - 0.5``;
``pytorch_half_pixel``; ``align_corners``: ``y (in - 1) / (out - 1)``; ``asymmetric``:
``y / scale``; ``half_pixel_symmetric``), then ``nearest`` picks one input by
``nearest_mode`` and ``linear`` blends the two around ``x`` (clamped to the edges, as
ONNX's reference pads by the edge). Supported: nearest and linear modes over the spatial
dims (2 onwards); refused with their reason: cubic, ``tf_crop_and_resize``, antialiased
downsampling, resizing the batch or channel dim. Upsample (and Resize before opset 11) is
``asymmetric`` with ``floor``.
"""

from __future__ import annotations

import math

import numpy as np

import cnnlab
from cnnlab.onnx.node import Node, as_tensor, make_op, raw
from cnnlab.ops.misc import Interpolate
from cnnlab.ops.resample import cubic_kernel, kernel_taps, triangle_kernel

__all__ = ["RESIZE"]

_COORDS = (
    "half_pixel",
    "pytorch_half_pixel",
    "align_corners",
    "asymmetric",
    "half_pixel_symmetric",
    "tf_crop_and_resize",
)
_NEAREST = {
    "round_prefer_floor": lambda x: np.ceil(x - 0.5),
    "round_prefer_ceil": lambda x: np.floor(x + 0.5),
    "floor": np.floor,
    "ceil": np.ceil,
}


def _source(mode: str, n_in: int, n_out: int, scale: float, roi=(0.0, 1.0)) -> np.ndarray:
    """ONNX's input coordinate of each output position along one axis."""
    y = np.arange(n_out, dtype=np.float64)
    width = scale * n_in  # ONNX's output width before rounding down
    if mode == "tf_crop_and_resize":
        span = (roi[1] - roi[0]) * (n_in - 1)
        x = np.full(n_out, span / 2) if width == 1 else y * span / (width - 1)
        return x + roi[0] * (n_in - 1)
    if mode == "align_corners":
        return np.zeros(n_out) if width == 1 else y * (n_in - 1) / (width - 1)
    if mode == "asymmetric":
        return y / scale
    if mode == "pytorch_half_pixel" and width == 1:
        return np.full(n_out, -0.5)
    if mode == "half_pixel_symmetric":
        offset = n_in / 2 * (1 - n_out / (scale * n_in))
        return offset + (y + 0.5) / scale - 0.5
    return (y + 0.5) / scale - 0.5


def _axis_map(n_in, n_out, scale, roi, how):
    """One axis's map for :class:`Interpolate` (index/weight arrays or a tap table)."""
    mode, coord, nearest, cubic_a, exclude, antialias = how
    x = _source(coord, n_in, n_out, scale, roi)
    if mode == "nearest":
        return np.clip(_NEAREST[nearest](x), 0, n_in - 1).astype(np.int64), None, None, None
    if mode == "cubic" or antialias or exclude:
        kernel, support = (
            (cubic_kernel(cubic_a), 2.0) if mode == "cubic" else (triangle_kernel, 1.0)
        )
        stretch = min(scale, 1.0) if antialias else 1.0
        return kernel_taps(x, n_in, kernel, support, stretch, "exclude" if exclude else "clamp")
    lo = np.floor(x)
    l1 = x - lo
    i0 = np.clip(lo, 0, n_in - 1).astype(np.int64)
    i1 = np.clip(lo + 1, 0, n_in - 1).astype(np.int64)
    return i0, i1, 1.0 - l1, l1


def _inside(crop: dict, out: tuple, dtype) -> np.ndarray:
    """1 where every cropped axis's source coordinate lies in the input, 0 where one does
    not (tf_crop_and_resize; ``crop`` maps an axis to ``(n_in, n_out, scale, roi)``)."""
    keep = np.ones(out, dtype)
    for a, (n_in, n_out, scale, roi) in crop.items():
        xs = _source("tf_crop_and_resize", n_in, n_out, scale, roi)
        inside = ((xs >= 0) & (xs <= n_in - 1)).astype(dtype)
        keep = keep * inside.reshape((-1,) + (1,) * (len(out) - a - 1))
    return keep


def _rule(n: Node, legacy: bool):
    mode = n.attr("mode", "nearest")
    coord = "asymmetric" if legacy else n.attr("coordinate_transformation_mode", "half_pixel")
    nearest = "floor" if legacy else n.attr("nearest_mode", "round_prefer_floor")
    policy = n.attr("keep_aspect_ratio_policy", "stretch")
    if mode not in ("nearest", "linear", "bilinear", "cubic"):
        n.fail(f"mode {mode!r} is not supported (nearest, linear and cubic are)")
    if coord not in _COORDS:
        n.fail(f"coordinate_transformation_mode {coord!r} is not supported")
    if nearest not in _NEAREST:
        n.fail(f"nearest_mode {nearest!r} is not supported")
    if policy not in ("stretch", "not_larger", "not_smaller"):
        n.fail(f"keep_aspect_ratio_policy {policy!r} is not supported")
    mode = "linear" if mode == "bilinear" else mode
    axes_attr = n.attr("axes")
    antialias = bool(n.attr("antialias", 0)) and mode != "nearest"
    how = (mode, coord, nearest, n.attr("cubic_coeff_a", -0.75))
    how += (bool(n.attr("exclude_outside", 0)) and mode != "nearest", antialias)
    fill = n.attr("extrapolation_value", 0.0)

    def run(x, *given):
        scales, sizes, roi = _scales_sizes(n, legacy, given)
        axes = list(range(x.ndim)) if axes_attr is None else [a % x.ndim for a in axes_attr]
        shape = list(x.shape)
        out, factor = list(shape), [1.0] * x.ndim
        if sizes is not None:
            if policy != "stretch":
                pick = min if policy == "not_larger" else max
                s = pick(sizes[i] / shape[a] for i, a in enumerate(axes))
                sizes = [math.floor(s * shape[a] + 0.5) for a in axes]
                for a in axes:
                    factor[a] = s
            for i, a in enumerate(axes):
                out[a] = sizes[i]
                factor[a] = factor[a] if policy != "stretch" else sizes[i] / shape[a]
        else:
            for i, a in enumerate(axes):
                factor[a], out[a] = scales[i], math.floor(shape[a] * scales[i])
        if out[:2] != shape[:2]:
            raise ValueError(
                f"resizing the batch or channel dim ({shape} -> {out}) is not supported"
            )
        rois = [(0.0, 1.0)] * x.ndim
        if coord == "tf_crop_and_resize":
            if roi is None or len(roi) != 2 * len(axes):
                raise ValueError(f"tf_crop_and_resize needs an roi of {2 * len(axes)} values")
            for i, a in enumerate(axes):
                rois[a] = (roi[i], roi[len(axes) + i])
        resized = [
            a
            for a in range(2, x.ndim)
            if out[a] != shape[a] or factor[a] != 1 or rois[a] != (0.0, 1.0)
        ]
        maps = tuple(
            _axis_map(shape[a], out[a], factor[a], rois[a], how) if a in resized else None
            for a in range(2, x.ndim)
        )
        y = Interpolate.apply(as_tensor(x), maps=maps)
        if coord != "tf_crop_and_resize":
            return y
        crop = {a: (shape[a], out[a], factor[a], rois[a]) for a in resized}
        keep = _inside(crop, tuple(out), np.dtype(y.dtype))
        return y * cnnlab.tensor(keep) + cnnlab.tensor((1 - keep) * keep.dtype.type(fill))

    return make_op(n.op, run, f"mode={mode}, coordinate_transformation_mode={coord}"), n.inputs


def _scales_sizes(n: Node, legacy: bool, given):
    """The scales and sizes given (attribute, constant or run-time inputs)."""
    if n.op == "Upsample" and n.opset < 9:
        return list(n.attr("scales")), None, None
    if legacy:  # Upsample 9, Resize 10: (X, scales)
        return [float(s) for s in raw(given[0]).reshape(-1)], None, None
    given = list(given) + [None] * 3
    roi, scales, sizes = given[:3]
    roi = None if roi is None or not raw(roi).size else [float(r) for r in raw(roi).reshape(-1)]
    if sizes is not None and raw(sizes).size:
        return None, [int(s) for s in raw(sizes).reshape(-1)], roi
    if scales is None or not raw(scales).size:
        raise ValueError("neither scales nor sizes are given")
    return [float(s) for s in raw(scales).reshape(-1)], None, roi


RESIZE = {
    "Resize": lambda n: _rule(n, legacy=n.opset < 11),
    "Upsample": lambda n: _rule(n, legacy=True),
}

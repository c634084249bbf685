"""ONNX Conv and ConvTranspose in their general forms, run by cnnlab's functionals: 1-D,
2-D and 3-D (:mod:`cnnlab.onnx.conv3d`), weights given at run time, ``auto_pad``,
asymmetric pads and ConvTranspose's ``output_shape``. (A 2-D node with constant weights
and plain pads loads as an ``nn.Conv2d``/``nn.ConvTranspose2d`` instead:
:mod:`cnnlab.onnx.layers`.)

Padding ONNX's way is cnnlab's ``pad`` before the convolution (Conv) or a crop of the full
transposed output (ConvTranspose), so every form is a composite of differentiable ops.
"""

from __future__ import annotations

import cnnlab
import cnnlab.nn.functional as F
from cnnlab.onnx.conv3d import conv3d, conv_transpose3d
from cnnlab.onnx.node import Node, as_tensor, make_op

__all__ = ["conv_any", "conv_transpose_any", "same_pads"]


def same_pads(sizes, kernel, stride, dilation, mode: str) -> list:
    """``auto_pad`` SAME_UPPER/SAME_LOWER as ONNX pads ``[b1, .., bn, e1, .., en]``."""
    begin, end = [], []
    for size, k, s, d in zip(sizes, kernel, stride, dilation):
        total = max((-(-size // s) - 1) * s + d * (k - 1) + 1 - size, 0)
        small = total // 2
        b = small if mode == "SAME_UPPER" else total - small
        begin.append(b)
        end.append(total - b)
    return begin + end


def flat_pads(pads) -> tuple:
    """ONNX pads ``[b1, .., bn, e1, .., en]`` as ``cnnlab.pad``'s pairs, last dim first."""
    n = len(pads) // 2
    out = []
    for d in reversed(range(n)):
        out += [pads[d], pads[n + d]]
    return tuple(out)


def _geometry(n: Node, nd: int):
    stride = list(n.attr("strides", [1] * nd))
    dilation = list(n.attr("dilations", [1] * nd))
    return stride, dilation, n.attr("group", 1), n.attr("auto_pad", "NOTSET")


def _check_rank(w, what: str) -> int:
    nd = w.ndim - 2
    if nd not in (1, 2, 3):
        raise ValueError(f"only 1-D to 3-D {what} are supported, got a weight of shape {w.shape}")
    return nd


def conv_any(n: Node):
    """An ONNX Conv node of any supported form as an op ``(x, w, b=None) -> y``."""

    def run(x, w, b=None):
        w = as_tensor(w)
        nd = _check_rank(w, "convolutions")
        stride, dilation, groups, auto = _geometry(n, nd)
        kernel = tuple(w.shape[2:])
        if auto.startswith("SAME"):
            pads = same_pads(x.shape[2:], kernel, stride, dilation, auto)
        else:
            pads = [0] * (2 * nd) if auto == "VALID" else list(n.attr("pads", [0] * (2 * nd)))
        if any(pads):
            x = cnnlab.pad(x, flat_pads(pads))
        b = None if b is None else as_tensor(b)
        if nd == 3:
            y = conv3d(x, w, stride, dilation, groups)
            return y if b is None else y + b.reshape((-1, 1, 1, 1))
        conv = F.conv1d if nd == 1 else F.conv2d
        return conv(x, w, b, stride=tuple(stride), dilation=tuple(dilation), groups=groups)

    return make_op("Conv", run)


def conv_transpose_any(n: Node):
    """An ONNX ConvTranspose node of any supported form as an op ``(x, w, b=None) -> y``."""

    def run(x, w, b=None):
        w = as_tensor(w)
        nd = _check_rank(w, "transposed convolutions")
        stride, dilation, groups, auto = _geometry(n, nd)
        out_pad = list(n.attr("output_padding", [0] * nd))
        if nd == 1:  # as 2-D with a height of 1
            x, w = x.reshape(x.shape[:2] + (1,) + x.shape[2:]), w.reshape(w.shape[:2] + (1, -1))
            stride, dilation, out_pad = [1, *stride], [1, *dilation], [0, *out_pad]
        if nd == 3:
            y = conv_transpose3d(x, w, stride, dilation, groups)
        else:
            y = F.conv_transpose2d(x, w, None, tuple(stride), 0, 0, groups, tuple(dilation))
        full = list(y.shape[2:])  # (in - 1) * s + d * (k - 1) + 1 per dim
        begins, lengths = _crop(n, x.shape[2:], full, out_pad, auto, nd)
        y = _window(y, begins, lengths)
        if nd == 1:
            y = y.reshape(y.shape[:2] + y.shape[3:])
        if b is not None:
            y = y + as_tensor(b).reshape((-1,) + (1,) * nd)
        return y

    return make_op("ConvTranspose", run)


def _crop(n: Node, sizes, full, out_pad, auto, nd):
    """Where the output starts in the full transposed result, and its length, per dim (as
    ONNX's reference: pads, or ``output_shape``/SAME_* giving pads split upper or lower)."""
    shape = n.attr("output_shape")
    if shape is not None:
        shape = list(shape)[-nd:]
    pads = n.attr("pads")
    if len(full) > nd:  # the 1-D case runs as 2-D: the added height is 1
        full, sizes, out_pad = full[1:], list(sizes)[1:], out_pad[1:]
    if pads is None and auto.startswith("SAME"):
        stride = list(n.attr("strides", [1] * nd))
        shape = shape or [s * st for s, st in zip(sizes, stride)]
        totals = [f + p - o for f, p, o in zip(full, out_pad, shape)]
        begins = [t // 2 if auto == "SAME_UPPER" else t - t // 2 for t in totals]
        return begins, shape
    pads = list(pads) if pads is not None else [0] * (2 * nd)
    if shape is None:
        shape = [f + p - pads[i] - pads[nd + i] for i, (f, p) in enumerate(zip(full, out_pad))]
    return pads[:nd], shape


def _window(y, begins, lengths):
    """``y[..., b : b + length]`` per trailing dim, zeros where that runs past ``y``."""
    nd = len(begins)
    lead = y.ndim - nd
    flat = []
    for d in reversed(range(nd)):
        size = y.shape[lead + d]
        flat += [max(-begins[d], 0), max(begins[d] + lengths[d] - size, 0)]
    if any(flat):
        y = cnnlab.pad(y, tuple(flat))
    index = [slice(None)] * lead
    for d in range(nd):
        start = max(begins[d], 0)
        index.append(slice(start, start + lengths[d]))
    return y[tuple(index)]

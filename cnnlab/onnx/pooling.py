"""ONNX pooling nodes as cnnlab modules: MaxPool, AveragePool (1-D to 3-D, dilated too), and
the global poolings.

ONNX's pads may be asymmetric or larger than half the kernel, which cnnlab's pooling (as
PyTorch's) does not take; such nodes pad first (``-inf`` for max) and pool unpadded. An
average's divisor then comes from pooling a mask the same way: ``avg(pad(x)) /
avg(pad(mask))``, the mask being 1 on the input (and on the pads with
``count_include_pad=1``), so the ratio counts exactly the values ONNX counts. 1-D pooling
runs as 2-D over a height of 1, 3-D one axis at a time.
"""

from __future__ import annotations

import numpy as np

import cnnlab
import cnnlab.nn.functional as F
from cnnlab import nn
from cnnlab.onnx.conv import flat_pads, same_pads
from cnnlab.onnx.node import Node, make_op, raw

__all__ = ["POOLING"]


def _pool_args(n: Node):
    k = n.attr("kernel_shape")
    if k is None or len(k) not in (1, 2, 3):
        n.fail(f"only 1-D, 2-D and 3-D pooling are supported, got kernel_shape {k}")
    nd = len(k)
    auto = n.attr("auto_pad", "NOTSET")
    if auto not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        n.fail(f"unknown auto_pad {auto!r}")
    stride = list(n.attr("strides", [1] * nd))
    dilation = list(n.attr("dilations", [1] * nd))
    pads = list(n.attr("pads", [0] * 2 * nd)) if auto == "NOTSET" else [0] * 2 * nd
    return list(k), stride, dilation, pads, auto, bool(n.attr("ceil_mode", 0))


def _as_2d(x, nd: int):
    return x.reshape(x.shape[:2] + (1,) + x.shape[2:]) if nd == 1 else x


def _from_2d(y, nd: int):
    return y.reshape(y.shape[:2] + y.shape[3:]) if nd == 1 else y


def _pads_for(x, k, stride, dilation, pads, auto):
    if auto.startswith("SAME"):
        return same_pads(x.shape[2:], k, stride, dilation, auto)
    return pads


def _ceil_crop(y, x, k, stride, dilation, pads, ceil: bool):
    """With ``ceil_mode``, drop a last window that would start in the right padding (ONNX's
    and PyTorch's rule, lost once the pads are part of the input)."""
    if not ceil:
        return y
    nd = len(k)
    index = [slice(None)] * (y.ndim - nd)
    for i in range(nd):
        size, eff = x.shape[2 + i], (k[i] - 1) * dilation[i] + 1
        out = -(-(size + pads[i] + pads[nd + i] - eff) // stride[i]) + 1
        if (out - 1) * stride[i] >= size + pads[i]:
            out -= 1
        index.append(slice(0, out))
    return y[tuple(index)]


def _pool(kind: str, x, k, stride, dilation, ceil: bool):
    """Unpadded max or average pooling over the trailing ``len(k)`` dims: cnnlab's 2-D
    pooling for 1-D and 2-D; 3-D one axis at a time (a box's max or mean is the max or mean
    along each of its axes in turn; averages here are only used in ratios, see the module
    docstring, so each axis's divisor cancels)."""
    nd = len(k)
    fn = F.max_pool2d if kind == "max" else F.avg_pool2d
    extra = (_two(dilation, nd), ceil) if kind == "max" else (ceil,)
    dilated_avg = kind == "avg" and any(d != 1 for d in dilation)
    if nd < 3 and not dilated_avg:
        return _from_2d(fn(_as_2d(x, nd), _two(k, nd), _two(stride, nd), 0, *extra), nd)
    for i in range(nd):
        axis = x.ndim - nd + i
        order = [d for d in range(x.ndim) if d != axis] + [axis]
        moved = x.permute(*order)
        flat = moved.reshape((moved.shape[0], -1, 1, moved.shape[-1]))
        ex = ((1, dilation[i]), ceil) if kind == "max" else (ceil,)
        if dilated_avg:
            y = _dilated_mean(flat, k[i], stride[i], dilation[i], ceil)
        else:
            y = fn(flat, (1, k[i]), (1, stride[i]), 0, *ex)
        y = y.reshape(moved.shape[:-1] + (y.shape[-1],))
        back = [order.index(d) for d in range(x.ndim)]
        x = y.permute(*back)
    return x


def _dilated_mean(x, k: int, stride: int, dilation: int, ceil: bool):
    """The mean of ``k`` values ``dilation`` apart, every ``stride`` along the last dim, as a
    sum of strided slices (zeros past the end where ``ceil`` lets a window run over)."""
    size, eff = x.shape[-1], (k - 1) * dilation + 1
    span = size - eff
    out = (-(-span // stride) if ceil else span // stride) + 1
    need = (out - 1) * stride + eff - size
    if need > 0:
        x = cnnlab.pad(x, (0, need))
    total = None
    for j in range(k):
        start = j * dilation
        part = x[..., start : start + (out - 1) * stride + 1 : stride]
        total = part if total is None else total + part
    return total * (1.0 / k)


def _two(v, nd):
    return tuple([1] + list(v)) if nd == 1 else tuple(v)


def _max_pool(n: Node):
    k, stride, dilation, pads, auto, ceil = _pool_args(n)
    nd = len(k)
    plain = auto == "NOTSET" and _symmetric_small(pads, k, dilation) and nd == 2
    if len(n.outputs) > 1 and n.outputs[1]:
        if not plain:
            n.fail(
                "the indices output needs 2-D pooling, pads at most half the kernel, no auto_pad"
            )
        column = bool(n.attr("storage_order", 0))
        return _max_pool_with_indices(k, stride, pads, dilation, ceil, column), n.inputs[:1]
    if plain:
        return nn.MaxPool2d(
            tuple(k), tuple(stride), tuple(pads[:2]), tuple(dilation), ceil_mode=ceil
        ), n.inputs[:1]

    def run(x):
        p = _pads_for(x, k, stride, dilation, pads, auto)
        xp = cnnlab.pad(x, flat_pads(p), value=-np.inf) if any(p) else x
        y = _pool("max", xp, k, stride, dilation, ceil)
        return _ceil_crop(y, x, k, stride, dilation, p, ceil)

    return make_op("MaxPool", run, f"kernel_shape={k}, pads={pads}"), n.inputs[:1]


def _max_pool_with_indices(k, stride, pads, dilation, ceil, column: bool):
    """MaxPool's two outputs: the values and, as ONNX counts them, each maximum's flat index
    into the whole input (cnnlab's, as PyTorch's, count within one (H, W) plane), column by
    column with ``storage_order=1``."""

    def run(x):
        y, idx = F.max_pool2d(x, tuple(k), tuple(stride), tuple(pads[:2]), tuple(dilation),
                              ceil_mode=ceil, return_indices=True)  # fmt: skip
        n, c, h, w = x.shape
        plane = np.arange(n * c, dtype=np.int64).reshape(n, c, 1, 1) * (h * w)
        at = raw(idx).astype(np.int64)
        if column:
            at = (at % w) * h + at // w
        return y, at + plane

    return make_op("MaxPool", run, f"kernel_shape={k}, pads={pads}, indices")


def _symmetric_small(pads, k, dilation) -> bool:
    nd = len(k)
    return all(
        pads[i] == pads[nd + i] and pads[i] <= ((k[i] - 1) * dilation[i] + 1) // 2
        for i in range(nd)
    )


def _avg_pool(n: Node):
    k, stride, dilation, pads, auto, ceil = _pool_args(n)
    include = bool(n.attr("count_include_pad", 0))
    nd = len(k)

    def run(x):
        p = _pads_for(x, k, stride, dilation, pads, auto)
        if not any(p) and nd < 3 and all(d == 1 for d in dilation):
            return _pool("avg", x, k, stride, dilation, ceil)
        xp = cnnlab.pad(x, flat_pads(p)) if any(p) else x
        mask = np.ones((1, 1) + tuple(x.shape[2:]), dtype=np.asarray(x).dtype)
        mask = np.pad(
            mask,
            [(0, 0), (0, 0)] + [(p[i], p[nd + i]) for i in range(nd)],
            constant_values=1.0 if include else 0.0,
        )
        total = _pool("avg", xp, k, stride, dilation, ceil)
        count = _pool("avg", cnnlab.tensor(mask), k, stride, dilation, ceil)
        return _ceil_crop(total / count, x, k, stride, dilation, p, ceil)

    return make_op("AveragePool", run, f"kernel_shape={k}, pads={pads}"), n.inputs[:1]


POOLING = {
    "MaxPool": _max_pool,
    "AveragePool": _avg_pool,
    "GlobalAveragePool": lambda n: (nn.AdaptiveAvgPool2d(1), n.inputs[:1]),
    "GlobalMaxPool": lambda n: (nn.AdaptiveMaxPool2d(1), n.inputs[:1]),
}

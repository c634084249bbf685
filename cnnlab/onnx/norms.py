"""ONNX normalisations as cnnlab modules: LayerNormalization, InstanceNormalization, LRN.

LayerNormalization normalises the dims from ``axis`` on (cnnlab's ``layer_norm`` op, with
its backward); its optional Mean and InvStdDev outputs are computed alongside, without a
gradient. InstanceNormalization is a layer norm over the spatial dims of each (sample,
channel), then a per-channel scale and shift. LRN divides each value by
``(bias + alpha / size * sum of squares over the size channels around it) ** beta``, the
window reaching ``floor((size - 1) / 2)`` channels back and ``ceil((size - 1) / 2)`` on
(PyTorch's ``LocalResponseNorm`` reaches ``size // 2`` back: the same for odd sizes).
"""

from __future__ import annotations

import numpy as np

import cnnlab
from cnnlab.onnx.node import Node, as_tensor, make_op, raw
from cnnlab.ops.norm import layer_norm

__all__ = ["NORMS", "local_response_norm"]


def _layer_norm(n: Node):
    axis, eps = n.attr("axis", -1), n.attr("epsilon", 1e-5)
    extra = [o for o in n.outputs[1:] if o]

    def run(x, scale, bias=None):
        a = axis % x.ndim
        shape = tuple(x.shape[a:])
        w, b = as_tensor(scale), None if bias is None else as_tensor(bias)
        if tuple(w.shape) == shape and (b is None or tuple(b.shape) == shape):
            y = layer_norm(x, shape, w, b, eps)
        else:  # scale or bias broadcast from a smaller shape
            y = layer_norm(x, shape, None, None, eps) * w
            y = y if b is None else y + b
        if not extra:
            return y
        arr = raw(x).astype(np.float64)
        dims = tuple(range(a, x.ndim))
        mean = arr.mean(axis=dims, keepdims=True)
        inv = 1 / np.sqrt(((arr - mean) ** 2).mean(axis=dims, keepdims=True) + eps)
        dt = raw(x).dtype
        return y, mean.astype(dt), inv.astype(dt)

    return make_op("LayerNormalization", run, f"axis={axis}, epsilon={eps}"), n.inputs[:3]


def _instance_norm(n: Node):
    eps = n.attr("epsilon", 1e-5)

    def run(x, scale, bias):
        y = layer_norm(x, tuple(x.shape[2:]), None, None, eps)
        lead = (-1,) + (1,) * (x.ndim - 2)
        return y * as_tensor(scale).reshape(lead) + as_tensor(bias).reshape(lead)

    return make_op("InstanceNormalization", run, f"epsilon={eps}"), n.inputs[:3]


def local_response_norm(x, size: int, alpha: float, beta: float, k: float, back: int):
    """``x / (k + alpha / size * sum of x^2 over channels [c - back, c - back + size))^beta``
    as a composite of differentiable ops. Shape: ``(N, C, ...)`` -> the same."""
    sq = x * x
    c = x.shape[1]
    pad = [0, 0] * (x.ndim - 2) + [back, size - 1 - back]
    sq = cnnlab.pad(sq, tuple(pad))
    total = sq[:, 0:c]
    for i in range(1, size):
        total = total + sq[:, i : i + c]
    return x / (total * (alpha / size) + k) ** beta


def _lrn(n: Node):
    size = n.attr("size")
    alpha, beta, bias = n.attr("alpha", 1e-4), n.attr("beta", 0.75), n.attr("bias", 1.0)
    if not size or size < 1:
        n.fail(f"size must be a positive int, got {size}")

    def run(x):
        return local_response_norm(x, size, alpha, beta, bias, (size - 1) // 2)

    return make_op("LRN", run, f"size={size}, alpha={alpha}, beta={beta}, bias={bias}"), n.inputs[
        :1
    ]


NORMS = {
    "LayerNormalization": _layer_norm,
    "InstanceNormalization": _instance_norm,
    "LRN": _lrn,
}

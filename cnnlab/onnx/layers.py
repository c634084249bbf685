"""ONNX nodes as cnnlab modules: the layers of the import half of the op table.

A rule ``rule(node) -> (module, inputs)`` builds the module that runs one node and says which
of the node's inputs it takes at run time; weights (constant inputs of Conv, Gemm, MatMul,
BatchNormalization) become the module's Parameters. Layers with weights are cnnlab's own
(``nn.Conv2d``, ``nn.Linear``, ``nn.BatchNorm2d``, subclassed only where ONNX allows more,
such as asymmetric padding), so summaries, explanations and attacks treat them as usual;
everything else is an :class:`Op`. Integer shape arithmetic (``Shape``, ``Gather`` ...) runs
on NumPy arrays; tensors stay Tensors, so the graph is differentiable end to end.
"""

from __future__ import annotations

import numpy as np

import cnnlab
import cnnlab.nn.functional as F
from cnnlab import nn
from cnnlab.onnx.conv import conv_any, conv_transpose_any
from cnnlab.onnx.node import Node, as_tensor, make_op, raw

__all__ = ["WEIGHTED", "BatchNorm", "Conv"]


# --------------------------------------------------------------------------- layers
def _split_pads(pads, n: int = 2):
    """ONNX pads ``[b1, b2, e1, e2]`` as (symmetric part per dim, extra (left, right, top,
    bottom) for :func:`cnnlab.pad`)."""
    pads = list(pads) if pads is not None else [0] * (2 * n)
    begin, end = pads[:n], pads[n:]
    sym = tuple(min(a, b) for a, b in zip(begin, end))
    extra = (begin[1] - sym[1], end[1] - sym[1], begin[0] - sym[0], end[0] - sym[0])
    return sym, extra


def _same_pads(x, kernel, stride, dilation, mode: str) -> tuple:
    """``auto_pad`` SAME_UPPER/SAME_LOWER as (left, right, top, bottom)."""
    out = []
    for size, k, s, d in zip(x.shape[2:], kernel, stride, dilation):
        total = max((-(-size // s) - 1) * s + d * (k - 1) + 1 - size, 0)
        small = total // 2
        out.append((small, total - small) if mode == "SAME_UPPER" else (total - small, small))
    (t, b), (l, r) = out
    return (l, r, t, b)


class Conv(nn.Conv2d):
    """``nn.Conv2d`` with ONNX's extra padding: asymmetric pads or ``auto_pad`` SAME_*,
    applied with :func:`cnnlab.pad` before the convolution."""

    def __init__(self, *args, extra_pad=(0, 0, 0, 0), auto_pad="NOTSET", **kw) -> None:
        super().__init__(*args, **kw)
        self.extra_pad, self.auto_pad = tuple(extra_pad), auto_pad

    def extra_repr(self) -> str:
        s = super().extra_repr()
        if any(self.extra_pad):
            s += f", extra_pad={self.extra_pad}"
        return s + (f", auto_pad={self.auto_pad}" if self.auto_pad != "NOTSET" else "")

    def forward(self, x):
        pad = self.extra_pad
        if self.auto_pad.startswith("SAME"):
            pad = _same_pads(x, self.kernel_size, self.stride, self.dilation, self.auto_pad)
        if any(pad):
            x = cnnlab.pad(x, pad)
        return super().forward(x)


class BatchNorm(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` over any ``(N, C, ...)`` input, as ONNX's BatchNormalization."""

    _ndims = (2, 3, 4, 5)

    @property
    def _pattern(self) -> str:
        return f"(N, {self.num_features}, ...)"


def _set(param, value) -> None:
    """Give ``param`` its own writable copy (ONNX's arrays are read-only views of the file)."""
    param.array = np.array(value, copy=True, order="C")


def _conv(n: Node):
    w = n.const(1)
    b = n.const(2)
    auto = n.attr("auto_pad", "NOTSET")
    if auto not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        n.fail(f"unknown auto_pad {auto!r}")
    if w is None or w.ndim != 4 or (n.has(2) and b is None):
        return conv_any(n), n.inputs[:3]  # 1-D, or weights given at run time
    sym, extra = _split_pads(None if auto != "NOTSET" else n.attr("pads"))
    g = n.attr("group", 1)
    conv = Conv(
        w.shape[1] * g,
        w.shape[0],
        tuple(w.shape[2:]),
        stride=tuple(n.attr("strides", [1, 1])),
        padding=sym,
        dilation=tuple(n.attr("dilations", [1, 1])),
        groups=g,
        bias=b is not None or (len(n.inputs) > 2 and bool(n.inputs[2])),
        extra_pad=extra,
        auto_pad=auto,
        dtype=w.dtype,
    )
    _set(conv.weight, w)
    if conv.bias is not None:
        _set(conv.bias, n.need_const(2, "the bias"))
    return conv, n.inputs[:1]


def _conv_transpose(n: Node):
    w = n.const(1)
    b = n.const(2)
    sym, extra = _split_pads(n.attr("pads") if w is not None and w.ndim == 4 else None)
    general = n.attr("auto_pad", "NOTSET") != "NOTSET" or n.attr("output_shape") is not None
    if general or w is None or w.ndim != 4 or any(extra) or (n.has(2) and b is None):
        return conv_transpose_any(n), n.inputs[:3]
    g = n.attr("group", 1)
    conv = nn.ConvTranspose2d(
        w.shape[0],
        w.shape[1] * g,
        tuple(w.shape[2:]),
        stride=tuple(n.attr("strides", [1, 1])),
        padding=sym,
        output_padding=tuple(n.attr("output_padding", [0, 0])),
        groups=g,
        bias=b is not None,
        dilation=tuple(n.attr("dilations", [1, 1])),
        dtype=w.dtype,
    )
    _set(conv.weight, w)
    if b is not None:
        _set(conv.bias, b)
    return conv, n.inputs[:1]


def _round(v: float) -> float:
    """A float32 attribute as the decimal it was written from (1e-05, not 9.9999997e-06)."""
    return float(f"{v:.7g}")


def _batch_norm(n: Node):
    if n.attr("training_mode", 0) and n.opset >= 14:
        return _batch_norm_training(n), n.inputs[:5]
    if len([o for o in n.outputs if o]) > 1 or n.attr("training_mode", 0):
        n.fail("only the inference form (one output) and opset 14's training_mode are supported")
    if any(n.const(i) is None for i in range(1, 5)):
        return _batch_norm_late(n), n.inputs[:5]
    scale, shift, mean, var = (n.const(i) for i in range(1, 5))
    bn = BatchNorm(
        scale.shape[0],
        eps=_round(n.attr("epsilon", 1e-5)),
        momentum=_round(1.0 - n.attr("momentum", 0.9)),
        dtype=scale.dtype,
    )
    for t, v in (
        (bn.weight, scale),
        (bn.bias, shift),
        (bn.running_mean, mean),
        (bn.running_var, var),
    ):
        _set(t, v)
    return bn, n.inputs[:1]


def _batch_norm_training(n: Node):
    """ONNX's training form: normalise by the batch's statistics (``F.batch_norm`` in
    training, differentiable) and give the running statistics ONNX defines,
    ``old * momentum + batch * (1 - momentum)`` with the biased batch variance."""
    eps, momentum = _round(n.attr("epsilon", 1e-5)), n.attr("momentum", 0.9)

    def run(x, scale, shift, mean, var):
        y = F.batch_norm(
            as_tensor(x), None, None, as_tensor(scale), as_tensor(shift), True, eps=eps
        )
        a = raw(x)
        axes = (0, *range(2, a.ndim))
        stats = [(raw(old) * momentum + new * (1 - momentum)).astype(a.dtype)
                 for old, new in ((mean, a.mean(axes)), (var, a.var(axes)))]  # fmt: skip
        return y, *stats

    return make_op("BatchNormalization", run, f"epsilon={eps}, momentum={momentum}, training")


def _batch_norm_late(n: Node):
    """Statistics and affine given at run time: ``F.batch_norm`` in eval form."""
    eps = _round(n.attr("epsilon", 1e-5))

    def run(x, scale, shift, mean, var):
        r = [np.asarray(v.numpy() if hasattr(v, "numpy") else v) for v in (mean, var)]
        return F.batch_norm(x, r[0], r[1], as_tensor(scale), as_tensor(shift), False, eps=eps)

    return make_op("BatchNormalization", run, f"epsilon={eps}")


def _linear(weight, bias, dtype) -> nn.Linear:
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None, dtype=dtype)
    _set(layer.weight, weight)
    if bias is not None:
        _set(layer.bias, bias)
    return layer


def _gemm(n: Node):
    alpha, beta = n.attr("alpha", 1.0), n.attr("beta", 1.0)
    ta, tb = n.attr("transA", 0), n.attr("transB", 0)
    w, c = n.const(1), n.const(2)
    out_features = None if w is None else (w.shape[0] if tb else w.shape[1])
    if w is not None and not ta and (c is None or c.size == out_features):
        weight = (w if tb else w.T) * np.asarray(alpha, w.dtype)
        bias = None if c is None else c.reshape(-1) * np.asarray(beta, c.dtype)
        if c is None and len(n.inputs) > 2 and n.inputs[2]:
            n.fail("a bias computed at run time is not supported")
        return _linear(weight, bias, w.dtype), n.inputs[:1]

    def gemm(a, b, c=None):
        y = (a.T if ta else a) @ (b.T if tb else b)
        y = y * alpha if alpha != 1.0 else y
        return y if c is None else y + (c * beta if beta != 1.0 else c)

    return make_op("Gemm", gemm, f"alpha={alpha}, beta={beta}, transA={ta}, transB={tb}"), n.inputs


def _matmul(n: Node):
    w = n.const(1)
    if w is not None and w.ndim == 2 and n.const(0) is None:
        return _linear(np.ascontiguousarray(w.T), None, w.dtype), n.inputs[:1]
    return make_op("MatMul", lambda a, b: as_tensor(a) @ b), n.inputs


WEIGHTED = {
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "BatchNormalization": _batch_norm,
    "Gemm": _gemm,
    "MatMul": _matmul,
}

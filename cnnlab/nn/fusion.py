"""Batch norm folded into the convolution before it, and what follows fused in, for inference.

In eval mode batch norm is a fixed per-channel affine map of its input ``z``::

    bn(z) = s * z + t,    s = weight / sqrt(running_var + eps),    t = bias - running_mean * s

and after a convolution ``z = W * x + b`` that is again a convolution, each output channel's
filter scaled by its ``s``::

    bn(conv(x)) = (s W) * x + (s b + t)

So one pass over the output instead of two, and no batch-norm kernel at all. The answer is
the same up to float rounding (the products are rounded in another order: differences of
about 1e-7 of the output's largest values in float32), as with PyTorch's
``torch.nn.utils.fusion.fuse_conv_bn_eval``.

:func:`conv_bn` runs ``act(bn(conv(x)) + residual)`` (``act`` and ``residual`` optional)
folded where that changes nothing a user can see, and as the layers one by one otherwise;
``nn.Sequential`` (a ``Conv2d``, a ``BatchNorm2d`` and optionally a ``ReLU``, ``ReLU6`` or
``Hardtanh``) and the zoo's ResNets and EfficientNet call it. Folded, the residual add and the
activation run inside the convolution too (:class:`cnnlab.ops.conv_fused.FusedConv2d`:
oneDNN's post-ops), so the three layers are one pass. It folds only when all of these hold:

- no gradient is being recorded (``cnnlab.no_grad()``): the folded weights are new arrays,
  so gradients would not reach the layers' own parameters;
- ``bn`` is a ``BatchNorm2d`` in eval mode with running statistics, ``conv`` a ``Conv2d``
  (or a subclass that changes only ``_conv_forward``, like EfficientNet's TF padding) whose
  output channels are ``bn``'s;
- neither layer has a forward hook or pre-hook (a feature-map hook sees what it saw before),
  and no :func:`cnnlab.autograd.trace` is watching (summaries, ONNX export see the layers);
  an activation module with a hook of its own runs as itself, after the folded conv;
- folding is on (``fold_batch_norm(False)`` turns it off, as a ``with`` block or for good).

The folded weights are computed on every call from the layers' current parameters and
statistics (a few thousand multiplications), so they are never stale.
"""

from __future__ import annotations

import copy

import numpy as np

import cnnlab.nn.functional as F
from cnnlab.autograd import is_grad_enabled, tracing
from cnnlab.nn.layers.activation import Hardtanh, ReLU, ReLU6
from cnnlab.nn.layers.conv import Conv2d
from cnnlab.nn.layers.norm import BatchNorm2d, _BatchNorm
from cnnlab.nn.parameter import Parameter
from cnnlab.ops.conv_fused import FusedConv2d
from cnnlab.tensor import Tensor

__all__ = ["can_fold", "conv_bn", "fold_batch_norm", "fold_conv_bn", "fuse_conv_bn_eval"]

_enabled = [True]


class fold_batch_norm:  # noqa: N801 - a function to the user; a class so `with` restores
    """Turn folding on (``True``, the default) or off, at once and for every later call;
    used as ``with fold_batch_norm(False): ...`` it restores the previous setting on exit
    (to compare against the unfolded layers, say)."""

    def __init__(self, enabled: bool) -> None:
        self.prev = _enabled[0]
        _enabled[0] = bool(enabled)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _enabled[0] = self.prev
        return False


def _hooked(m) -> bool:
    return bool(m._forward_hooks or m._forward_pre_hooks)


def can_fold(conv, bn) -> bool:
    """Whether :func:`conv_bn` folds ``bn`` into ``conv`` now (the conditions above)."""
    return (
        _enabled[0]
        and not is_grad_enabled()
        and not tracing()
        and isinstance(conv, Conv2d)
        and type(conv).forward is Conv2d.forward
        and isinstance(bn, BatchNorm2d)
        and type(bn).forward is _BatchNorm.forward
        and not bn.training
        and bn.running_mean is not None
        and conv.out_channels == bn.num_features
        and not (_hooked(conv) or _hooked(bn))
    )


def fold_conv_bn(weight, bias, bn, dtype=None) -> tuple[np.ndarray, np.ndarray]:
    """The arrays ``(s W, s b + t)`` of a convolution ``(weight, bias)`` (bias may be None)
    followed by eval-mode ``bn`` (module above). Computed in float64, returned in ``dtype``
    (default: the weight's).

    Shape: weight ``(O, C/groups, KH, KW)``, bias ``(O,)`` or None -> the same shapes."""
    w = np.asarray(weight.array if isinstance(weight, Tensor) else weight)
    mean = np.asarray(bn.running_mean.array, np.float64)
    var = np.asarray(bn.running_var.array, np.float64)
    s = 1.0 / np.sqrt(var + bn.eps)
    if bn.weight is not None:
        s = s * np.asarray(bn.weight.array, np.float64)
    t = -mean * s
    if bn.bias is not None:
        t = t + np.asarray(bn.bias.array, np.float64)
    if bias is not None:
        t = t + s * np.asarray(bias.array if isinstance(bias, Tensor) else bias, np.float64)
    dtype = w.dtype if dtype is None else np.dtype(dtype)
    return (w.astype(np.float64) * s.reshape(-1, 1, 1, 1)).astype(dtype), t.astype(dtype)


_NAMED = {"relu": ("relu",), "relu6": ("hardtanh", 0.0, 6.0)}  # FusedConv2d's act argument


def fusable_activation(act):
    """``act`` (a module, ``"relu"``, ``"relu6"`` or None) as FusedConv2d's ``act``
    argument, or False where it must run as itself (another type, a subclass with its own
    forward, or a hook)."""
    if act is None or isinstance(act, str):
        return None if act is None else _NAMED[act]
    kind = type(act)
    if kind not in (ReLU, ReLU6, Hardtanh) or _hooked(act):
        return False
    if kind is not Hardtanh:
        return _NAMED["relu" if kind is ReLU else "relu6"]
    if not act.min_val < act.max_val:
        return False
    return ("hardtanh", float(act.min_val), float(act.max_val))


def _activate(act, y):
    if act is None:
        return y
    if act == "relu":
        return F.relu(y)
    if act == "relu6":
        return F.relu6(y)
    return act(y)


def conv_bn(conv, bn, x, act=None, residual=None):
    """``act(bn(conv(x)) + residual)``: batch norm folded into the convolution's weights,
    and the add and the activation fused into it, where :func:`can_fold` says so (the same
    answer up to rounding, one pass instead of up to four); the layers one by one otherwise.
    ``act``: None, ``"relu"``, ``"relu6"`` or an activation module; ``residual``: None or a
    tensor of the output's shape."""
    if not can_fold(conv, bn):
        y = bn(conv(x))
        return _activate(act, y if residual is None else y + residual)
    conv._check(x)
    # in the dtype the layers would compute in (float64 input, float32 layers: float64)
    w, b = fold_conv_bn(conv.weight, conv.bias, bn, np.result_type(x.dtype, conv.weight.dtype))
    fused = fusable_activation(act)
    if fused is not False and _padding_known(conv) and _shape_ok(conv, x, residual):
        pads = conv._pads(x)
        return FusedConv2d.apply(
            x, Tensor(w), Tensor(b), residual, stride=tuple(conv.stride), padding=pads,
            dilation=tuple(conv.dilation), groups=conv.groups, act=fused,
        )  # fmt: skip
    y = conv._conv_forward(x, Tensor(w), Tensor(b))
    return _activate(act, y if residual is None else y + residual)


def _padding_known(conv) -> bool:
    # the stock convolution, or a subclass that says what padding its own forward gives
    kind = type(conv)
    return kind._conv_forward is Conv2d._conv_forward or "_pads" in kind.__dict__


def _shape_ok(conv, x, residual) -> bool:
    """A residual fuses where it has the output's exact shape (else the add broadcasts, or
    fails with its own message: the unfused path)."""
    if residual is None:
        return True
    n, _, h, w = x.shape
    top, bottom, left, right = conv._pads(x)
    out = [
        (size + lo + hi - d * (kk - 1) - 1) // s + 1
        for size, lo, hi, d, kk, s in zip(
            (h, w), (top, left), (bottom, right), conv.dilation, conv.kernel_size, conv.stride
        )
    ]
    return tuple(residual.shape) == (n, conv.out_channels, *out)


def fuse_conv_bn_eval(conv, bn):
    """A new convolution computing ``bn(conv(x))`` of eval-mode ``bn`` (PyTorch's
    ``torch.nn.utils.fusion.fuse_conv_bn_eval``): a copy of ``conv`` with the folded weight
    and a bias. Neither argument is changed."""
    if not isinstance(conv, Conv2d) or not isinstance(bn, BatchNorm2d):
        raise TypeError(
            f"fuse_conv_bn_eval: expected a Conv2d and a BatchNorm2d, got "
            f"{type(conv).__name__} and {type(bn).__name__}"
        )
    if bn.training or bn.running_mean is None:
        raise ValueError("fuse_conv_bn_eval: batch norm must be in eval mode with running stats")
    if conv.out_channels != bn.num_features:
        raise ValueError(
            f"fuse_conv_bn_eval: the conv has {conv.out_channels} output channels, batch norm "
            f"{bn.num_features} features"
        )
    w, b = fold_conv_bn(conv.weight, conv.bias, bn)
    fused = copy.deepcopy(conv)
    fused.weight = Parameter(w)
    fused.bias = Parameter(b)
    return fused

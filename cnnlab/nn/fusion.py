"""Batch norm folded into the convolution before it, for inference, when the user asks.

In eval mode batch norm is a fixed per-channel affine map of its input ``z``::

    bn(z) = s * z + t,    s = weight / sqrt(running_var + eps),    t = bias - running_mean * s

and after a convolution ``z = W * x + b`` that is again a convolution, each output channel's
filter scaled by its ``s``::

    bn(conv(x)) = (s W) * x + (s b + t)

So one pass over the output instead of two, and no batch-norm kernel at all. The answer is
the same up to float rounding (the products are rounded in another order: differences of
about 1e-7 of the output's largest values in float32), as with PyTorch's
``torch.nn.utils.fusion.fuse_conv_bn_eval``.

Nothing here happens by itself: a model computes exactly what its ``forward`` says until the
user asks for fusion, as in PyTorch:

- :func:`fuse_conv_bn_eval` (PyTorch's name): a new convolution computing ``bn(conv(x))``;
- :func:`fuse_modules` (``torch.ao.quantization.fuse_modules``' shape): named groups
  ``[conv, bn]``, ``[conv, act]`` or ``[conv, bn, act]`` of a module replaced by one
  (folded) convolution
  (:class:`ConvAct2d` when an activation is fused in: oneDNN runs it as a post-op, in the
  same pass), the others by :class:`~cnnlab.nn.Identity`;
- ``model.fuse()`` (:func:`fuse`): every ``Conv2d, BatchNorm2d[, ReLU/ReLU6/Hardtanh]`` and
  ``Conv2d, ReLU/ReLU6/Hardtanh`` run of an ``nn.Sequential``, and the groups that the zoo's
  blocks name in their ``fuse_model()`` (as torchvision's quantizable models do), for a
  model in eval mode.

A fused model is an ordinary model with fewer layers: its convolutions hold the folded
weights as Parameters, so it still trains, and the unfused model is unchanged by
:func:`fuse_conv_bn_eval` (``fuse`` and ``fuse_modules`` change the model they are given:
``copy.deepcopy`` it first to keep both).
"""

from __future__ import annotations

import copy

import numpy as np

from cnnlab.autograd import is_grad_enabled, tracing
from cnnlab.nn.layers.activation import Hardtanh, ReLU, ReLU6
from cnnlab.nn.layers.conv import Conv2d
from cnnlab.nn.layers.misc import Identity
from cnnlab.nn.layers.norm import BatchNorm2d
from cnnlab.nn.module import Module
from cnnlab.nn.parameter import Parameter
from cnnlab.ops.conv_fused import FusedConv2d
from cnnlab.tensor import Tensor

__all__ = ["ConvAct2d", "fold_conv_bn", "fuse", "fuse_conv_bn_eval", "fuse_modules"]


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
    fused.weight = Parameter(w, requires_grad=conv.weight.requires_grad)
    fused.bias = Parameter(b, requires_grad=conv.weight.requires_grad)
    return fused


def _post_op(act):
    """``act`` as FusedConv2d's post-op, or None where oneDNN has no such post-op."""
    kind = type(act)
    if kind in (ReLU, ReLU6):
        return ("relu",) if kind is ReLU else ("hardtanh", 0.0, 6.0)
    if kind is Hardtanh and act.min_val < act.max_val:
        return ("hardtanh", float(act.min_val), float(act.max_val))
    return None


def _hooked(m) -> bool:
    return bool(m._forward_hooks or m._forward_pre_hooks)


class ConvAct2d(Module):
    """``act(conv(x))`` for a ReLU, ReLU6 or Hardtanh ``act``, as PyTorch's ``ConvReLU2d``:
    under ``no_grad`` one oneDNN pass (the activation is a post-op of the convolution);
    while gradients are recorded, traced or hooked, the two layers one after the other.

    Shape: as ``conv``."""

    def __init__(self, conv: Conv2d, act: Module) -> None:
        super().__init__()
        if _post_op(act) is None:
            raise TypeError(f"ConvAct2d: act must be ReLU, ReLU6 or Hardtanh, got {act!r}")
        self.conv, self.act = conv, act

    def forward(self, x):
        conv = self.conv
        if (
            is_grad_enabled()
            or tracing()
            or _hooked(conv)
            or _hooked(self.act)
            or not _pads_known(conv)
        ):
            return self.act(conv(x))
        conv._check(x)
        return FusedConv2d.apply(
            x, conv.weight, conv.bias, None, stride=tuple(conv.stride), padding=conv._pads(x),
            dilation=tuple(conv.dilation), groups=conv.groups, act=_post_op(self.act),
        )  # fmt: skip


def _pads_known(conv) -> bool:
    # the stock convolution, or a subclass that says what padding its own forward gives
    kind = type(conv)
    return kind._conv_forward is Conv2d._conv_forward or "_pads" in kind.__dict__


def _get(module: Module, path: str) -> Module:
    m = module
    for part in path.split("."):
        if part not in m._modules:
            raise KeyError(f"fuse_modules: {type(module).__name__} has no submodule {path!r}")
        m = m._modules[part]
    return m


def _set(module: Module, path: str, new: Module) -> None:
    *parents, last = path.split(".")
    for part in parents:
        module = module._modules[part]
    setattr(module, last, new)


def fuse_modules(model: Module, groups) -> Module:
    """Fuse each named group ``[conv, bn]``, ``[conv, act]`` or ``[conv, bn, act]`` of
    ``model`` in place: ``conv`` becomes the folded convolution (a :class:`ConvAct2d` with
    ``act``: the convolution itself where there is no batch norm), the others
    :class:`~cnnlab.nn.Identity`. Names are dotted paths below ``model``. Returns ``model``."""
    if groups and isinstance(groups[0], str):
        groups = [groups]
    for names in groups:
        if len(names) not in (2, 3):
            raise ValueError(
                f"fuse_modules: a group is [conv, bn], [conv, act] or [conv, bn, act], got {names}"
            )
        mods = [_get(model, n) for n in names]
        if len(names) == 2 and not isinstance(mods[1], BatchNorm2d):  # [conv, act]
            _set(model, names[0], ConvAct2d(mods[0], mods[1]))
            _set(model, names[1], Identity())
            continue
        fused = fuse_conv_bn_eval(mods[0], mods[1])
        if len(names) == 3:
            fused = ConvAct2d(fused, mods[2])
            _set(model, names[2], Identity())
        _set(model, names[0], fused)
        _set(model, names[1], Identity())
    return model


def _sequential_groups(seq, shared: set) -> list:
    """Runs of ``Conv2d, BatchNorm2d[, activation]`` and ``Conv2d, activation`` among a
    Sequential's children."""
    names = list(seq._modules)
    mods = list(seq._modules.values())
    groups, i = [], 0
    while i + 1 < len(mods):
        conv, bn = mods[i], mods[i + 1]
        if (
            type(conv) is Conv2d
            and isinstance(bn, BatchNorm2d)
            and conv.out_channels == bn.num_features
            and not (_hooked(conv) or _hooked(bn))
        ):
            act = mods[i + 2] if i + 2 < len(mods) else None
            if act is not None and (_post_op(act) is None or _hooked(act) or id(act) in shared):
                act = None
            groups.append(names[i : i + (3 if act is not None else 2)])
            i += 3 if act is not None else 2
        elif (  # a convolution straight into its activation: one pass, the act a post-op
            type(conv) is Conv2d
            and _post_op(bn) is not None
            and not (_hooked(conv) or _hooked(bn) or id(bn) in shared)
        ):
            groups.append(names[i : i + 2])
            i += 2
        else:
            i += 1
    return groups


def fuse(model: Module) -> Module:
    """Fold every batch norm of an eval-mode ``model`` that follows its convolution, and the
    activation after it: the ``Conv2d, BatchNorm2d[, ReLU/ReLU6/Hardtanh]`` and ``Conv2d,
    ReLU/ReLU6/Hardtanh`` runs of each ``nn.Sequential``, and the
    groups each submodule names in its ``fuse_model()``. Layers with a forward hook are left
    as they are (a feature-map hook sees what it saw before). In place; returns ``model``."""
    from cnnlab.nn.container import Sequential

    for name, m in model.named_modules():
        if isinstance(m, BatchNorm2d) and m.training:
            raise ValueError(
                f"fuse: batch norm {name or type(model).__name__!r} is in training mode; "
                "fusion folds the running statistics: call model.eval() first"
            )
    seen: dict = {}
    for m in model.modules():
        for child in m._modules.values():
            if child is not None:
                seen[id(child)] = seen.get(id(child), 0) + 1
    shared = {k for k, n in seen.items() if n > 1}  # a module used twice is not replaced
    for m in list(model.modules()):
        if isinstance(m, Sequential):
            fuse_modules(m, _sequential_groups(m, shared))
        elif hasattr(m, "fuse_model"):
            m.fuse_model()
    return model

"""Freezing part of a network for transfer learning: ``freeze(model, up_to="features.4")``.

A frozen parameter has ``requires_grad`` off, so backward gives it no gradient and the
optimisers (which skip parameters whose ``grad`` is None, as PyTorch's) leave it untouched.
Batch norm inside the frozen part is put in eval mode and kept there by ``model.train()``
(``bn_eval=True``, the default): its running statistics are then neither used from the batch
nor updated, so the frozen part computes the same function in training as at test time.
"""

from __future__ import annotations

from cnnlab.nn.module import Module

__all__ = ["freeze", "frozen_names", "head_name", "param_groups", "unfreeze"]

_NORMS = ("BatchNorm1d", "BatchNorm2d", "SyncBatchNorm")


def _is_norm(m: Module) -> bool:
    return type(m).__name__ in _NORMS or any(c.__name__ in _NORMS for c in type(m).__mro__)


def _prefix_modules(model: Module, up_to: str | None) -> list[str]:
    """Names of the modules from the start of
    ``named_modules`` order to ``up_to`` and everything inside it."""
    names = [n for n, _ in model.named_modules()]
    if up_to is None:
        return names
    if up_to not in names:
        parent = up_to.rsplit(".", 1)[0] if "." in up_to else ""
        depth = parent.count(".") + 2 if parent else 1
        near = [
            n
            for n in names
            if n and n.startswith(parent + "." if parent else "") and n.count(".") + 1 == depth
        ]
        raise ValueError(
            f"freeze: model {type(model).__name__} has no layer {up_to!r}; layers at that "
            f"level: {', '.join(near[:20]) or '(none)'}" + (" ..." if len(near) > 20 else "")
        )
    end = names.index(up_to)
    inside = [n for n in names[end + 1 :] if n.startswith(up_to + ".")]
    return names[: end + 1] + inside


def freeze(model: Module, up_to: str | None = None, bn_eval: bool = True) -> list[str]:
    """Freeze every layer of ``model`` up to and including the layer named ``up_to`` (a name
    of ``model.named_modules()``, e.g. ``"_blocks.15"``); None freezes everything.

    ``requires_grad`` goes off for their parameters; with ``bn_eval`` their batch norm layers
    go to eval mode and stay there through ``model.train()`` until :func:`unfreeze`. The
    order is that of ``named_modules()`` (registration order), which for the zoo's models is
    the order of the forward pass. Returns the frozen parameters' names.
    """
    chosen = set(_prefix_modules(model, up_to))
    frozen = []
    for name, m in model.named_modules():
        if name not in chosen:
            continue
        for pname, p in m.named_parameters(recurse=False):
            p.requires_grad_(False)
            frozen.append(f"{name}.{pname}" if name else pname)
        if bn_eval and _is_norm(m):
            m.__dict__["_frozen_eval"] = True
            m.__dict__["training"] = False
    return frozen


def unfreeze(model: Module, up_to: str | None = None) -> list[str]:
    """Undo :func:`freeze` for the layers up to ``up_to`` (None: all): ``requires_grad`` on,
    batch norm follows ``model.train()``/``eval()`` again (its mode becomes the model's).
    Returns the unfrozen parameters' names."""
    chosen = set(_prefix_modules(model, up_to))
    names = []
    for name, m in model.named_modules():
        if name not in chosen:
            continue
        for pname, p in m.named_parameters(recurse=False):
            p.requires_grad_(True)
            names.append(f"{name}.{pname}" if name else pname)
        if m.__dict__.pop("_frozen_eval", False):
            m.__dict__["training"] = model.training
    return names


def frozen_names(model: Module) -> list[str]:
    """Names of the parameters with ``requires_grad`` off."""
    return [n for n, p in model.named_parameters() if not p.requires_grad]


def head_name(model: Module) -> str:
    """The name of the model's classifier: its last ``Linear`` layer in ``named_modules``
    order (``_fc`` for EfficientNet, ``classifier.1`` for ``fashion_cnn``)."""
    last = None
    for name, m in model.named_modules():
        if type(m).__name__ == "Linear":
            last = name
    if last is None:
        raise ValueError(f"head_name: model {type(model).__name__} has no Linear layer")
    return last


def param_groups(
    model: Module,
    lr: float,
    lr_body: float | None = None,
    weight_decay: float = 0.0,
    head: str | None = None,
) -> list[dict]:
    """Optimiser parameter groups (PyTorch's ``[{'params': [...], 'lr': ...}, ...]``) giving
    the head (``head``, default :func:`head_name`) the rate ``lr`` and the rest of the
    network ``lr_body`` (default ``lr``); ``weight_decay`` on weights only (not biases or
    norm parameters, which have one dimension). Frozen parameters are left out. Groups
    without parameters are dropped; each group has a ``'name'`` (``head``/``body``, with
    ``-no-decay``)."""
    head = head_name(model) if head is None else head
    if head not in dict(model.named_modules()):
        raise ValueError(f"param_groups: model {type(model).__name__} has no layer {head!r}")
    lr_body = lr if lr_body is None else lr_body
    groups = {
        ("head", True): [],
        ("head", False): [],
        ("body", True): [],
        ("body", False): [],
    }
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        part = "head" if name == head or name.startswith(head + ".") else "body"
        groups[(part, p.ndim > 1)].append(p)
    out = []
    for (part, decay), params in groups.items():
        if params:
            out.append(
                {
                    "params": params,
                    "lr": lr if part == "head" else lr_body,
                    "weight_decay": weight_decay if decay else 0.0,
                    "name": part if decay else f"{part}-no-decay",
                }
            )
    if not out:
        raise ValueError(f"param_groups: every parameter of {type(model).__name__} is frozen")
    return out

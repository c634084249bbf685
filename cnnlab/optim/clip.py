"""Gradient clipping: by the total norm of all gradients, or elementwise by value."""

from __future__ import annotations

import math

import numpy as np

from cnnlab import backend
from cnnlab.autograd import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters) -> list:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad.array for p in params if p.grad is not None]  # arrays, changed in place


def _vector_norm(x, norm_type: float):
    """The ``norm_type``-norm of ``x`` viewed as a vector (a 0-d array in x's dtype)."""
    xp = backend.get_array_module(x)
    a = xp.abs(x.reshape(-1))
    if a.size == 0:
        return xp.zeros((), dtype=x.dtype)
    if norm_type == math.inf:
        return a.max()
    if norm_type == -math.inf:
        return a.min()
    if norm_type == 0:
        return xp.asarray(xp.count_nonzero(a), dtype=x.dtype)
    if norm_type == 1:
        return a.sum()
    if norm_type == 2:
        return xp.sqrt((a * a).sum())
    return (a**norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> float:
    """Scale all gradients in place so that their total norm is at most ``max_norm``.

    The total norm is the ``norm_type``-norm of the vector of the per-gradient norms (the
    norm of all gradients concatenated). Each gradient is multiplied by
    ``min(max_norm / (total_norm + 1e-6), 1)``, as ``torch.nn.utils.clip_grad_norm_``.
    Parameters without a gradient are skipped.

    Args:
        parameters: a Tensor or an iterable of Tensors.
        max_norm: the largest total norm allowed.
        norm_type: p of the p-norm; ``float('inf')`` for the largest absolute value.
        error_if_nonfinite: raise RuntimeError if the total norm is nan or inf.

    Returns:
        The total norm before clipping, as a Python float.

    Shape:
        Gradients of any shape; each keeps its shape.
    """
    grads = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return 0.0
    xp = backend.get_array_module(grads[0])
    total = _vector_norm(xp.stack([_vector_norm(g, norm_type) for g in grads]), norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
            f"non-finite ({float(total)}), so it cannot be clipped. To scale the gradients by "
            "the non-finite norm anyway, set error_if_nonfinite=False"
        )
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0)
    with np.errstate(invalid="ignore"):  # a non-finite norm gives nan gradients, as in torch
        for g in grads:
            g *= coef
    return float(total)


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient in place to ``[-clip_value, clip_value]``.

    Args:
        parameters: a Tensor or an iterable of Tensors (those without a gradient are skipped).
        clip_value: the largest absolute value allowed.

    Shape:
        Gradients of any shape; each keeps its shape.
    """
    clip_value = float(clip_value)
    for g in _grads(parameters):
        backend.get_array_module(g).clip(g, -clip_value, clip_value, out=g)

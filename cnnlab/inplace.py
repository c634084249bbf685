"""In-place Tensor methods (``zero_``, ``fill_``, ``copy_``, ``add_``, ``sub_``, ``mul_``,
``div_``, ``clamp_``) with PyTorch's rules.

- Each bumps the tensor's version counter. Every op records the versions of its tensor
  inputs, and the backward pass checks them: an input changed in place after an op used it
  raises a RuntimeError naming the op and the in-place method (as PyTorch does), instead of
  a silently wrong gradient.
- A leaf that requires grad (a Parameter) may be changed in place only inside ``no_grad()``
  (optimisers, initialisation); outside, it raises, as PyTorch.
- Without a graph to record, the data is overwritten in memory (except for the output of a
  recorded op, whose op may keep that array for its backward: it gets a new array). When
  the change itself must be recorded (the tensor, or the value written into it, requires
  grad), the result is computed out of place and ``self`` takes it over with its graph:
  gradients flow through the in-place op to the old value and to ``other``.

Only the tensor itself is tracked: an in-place change made through another view of the same
memory (for example ``x.numpy()[...] = 0``) is not seen by the check.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from cnnlab import tensor as _tensor  # Tensor inherits TensorInPlace: bound at call time
from cnnlab.autograd import is_grad_enabled, no_grad
from cnnlab.backend import get_array_module
from cnnlab.ops.elementwise import Where

if TYPE_CHECKING:
    from cnnlab.tensor import Tensor

__all__ = ["TensorInPlace", "add_", "clamp_", "copy_", "div_", "fill_", "mul_", "sub_", "zero_"]


def _requires_grad(x) -> bool:
    return isinstance(x, _tensor.Tensor) and x.requires_grad


def _apply(t: Tensor, name: str, compute, *others) -> Tensor:
    """Replace ``t``'s value by ``compute(t)`` in place (see the module docstring)."""
    recording = is_grad_enabled() and (t.requires_grad or any(map(_requires_grad, others)))
    if recording and t.is_leaf and t.requires_grad:
        raise RuntimeError(
            f"{name}: a leaf tensor that requires grad (shape {t.shape}) cannot be changed in "
            "place while gradients are recorded; do it inside `with cnnlab.no_grad():` "
            "(as an optimiser does) or use the out-of-place op"
        )
    if recording:
        old = _tensor.Tensor._make(t.array, t.requires_grad)  # the value before, with its history
        old._node, old._version = t._node, t._version
        out = compute(old)
        if out.dtype != t.dtype:
            out = out.astype(t.dtype)
        _check_shape(name, t, out)
        t.array, t._node, t.requires_grad = out.array, out._node, out.requires_grad
        if t._node is not None:  # the node now makes t: its hooks and retain_grad follow
            t._node.out = weakref.ref(t)
            if t._hooks or t._retain_grad:
                t._node.pin = t
    else:
        with no_grad():
            out = compute(t)
        _check_shape(name, t, out)
        writeable = getattr(getattr(t.array, "flags", None), "writeable", True)
        if writeable and t._node is None:
            t.array[...] = out.array
        else:  # an op's output (its op may keep the array for backward) or read-only memory
            t.array = out.array.astype(t.dtype, copy=True)
    t._version += 1
    t._inplace_op = name
    return t


def _check_shape(name: str, t: Tensor, out: Tensor) -> None:
    if out.shape != t.shape:
        raise RuntimeError(
            f"{name}: the result has shape {tuple(out.shape)}, which does not fit in place into a "
            f"tensor of shape {tuple(t.shape)} (the other operand must broadcast to it)"
        )


def _blank(x: Tensor):
    """A boolean mask of False shaped as ``x``: where(mask, x, v) keeps nothing of ``x``."""
    return get_array_module(x.array).zeros(x.shape, dtype=bool)


def _where(x: Tensor, value):
    return Where.apply(_blank(x), x, value)


def zero_(t: Tensor) -> Tensor:
    """Set every element to 0."""
    return _apply(t, "zero_", lambda x: _where(x, 0.0 if x.dtype.kind in "fc" else 0))


def fill_(t: Tensor, value) -> Tensor:
    """Set every element to ``value`` (a number or a one-element Tensor)."""
    return _apply(t, "fill_", lambda x: _where(x, value), value)


def copy_(t: Tensor, src) -> Tensor:
    """Copy ``src`` (broadcast to ``t``'s shape, cast to its dtype) into ``t``."""
    return _apply(t, "copy_", lambda x: _where(x, src), src)


def add_(t: Tensor, other, alpha=1) -> Tensor:
    """``t += alpha * other``."""
    return _apply(t, "add_", lambda x: x + (other if alpha == 1 else other * alpha), other)


def sub_(t: Tensor, other, alpha=1) -> Tensor:
    """``t -= alpha * other``."""
    return _apply(t, "sub_", lambda x: x - (other if alpha == 1 else other * alpha), other)


def mul_(t: Tensor, other) -> Tensor:
    """``t *= other``."""
    return _apply(t, "mul_", lambda x: x * other, other)


def div_(t: Tensor, other) -> Tensor:
    """``t /= other``."""
    return _apply(t, "div_", lambda x: x / other, other)


def clamp_(t: Tensor, min=None, max=None) -> Tensor:
    """Clamp every element into ``[min, max]``."""
    return _apply(t, "clamp_", lambda x: x.clamp(min=min, max=max))


class TensorInPlace:
    """The in-place methods of Tensor; each changes ``self`` and returns it."""

    __slots__ = ()

    def zero_(self):
        return zero_(self)

    def fill_(self, value):
        return fill_(self, value)

    def copy_(self, src):
        return copy_(self, src)

    def add_(self, other, alpha=1):
        return add_(self, other, alpha=alpha)

    def sub_(self, other, alpha=1):
        return sub_(self, other, alpha=alpha)

    def mul_(self, other):
        return mul_(self, other)

    def div_(self, other):
        return div_(self, other)

    def clamp_(self, min=None, max=None):
        return clamp_(self, min=min, max=max)

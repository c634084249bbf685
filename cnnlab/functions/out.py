"""PyTorch's ``out=`` argument: the result written into a given tensor.

As in PyTorch, a function called with ``out=`` records no gradient (it refuses inputs that
require one while gradients are recorded), and ``out`` must already have the result's shape.
"""

from __future__ import annotations

from cnnlab.autograd import Tensor, is_grad_enabled, no_grad


def into(name: str, out: Tensor | None, result: Tensor, *inputs) -> Tensor:
    """``result`` itself, or copied into ``out`` (which is returned)."""
    if out is None:
        return result
    if is_grad_enabled() and any(isinstance(t, Tensor) and t.requires_grad for t in inputs):
        raise RuntimeError(
            f"{name}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad"
        )
    if tuple(out.shape) != tuple(result.shape):
        raise ValueError(
            f"{name}(): out has shape {tuple(out.shape)}, the result has shape "
            f"{tuple(result.shape)}"
        )
    with no_grad():
        out.copy_(result)
    return out

"""``Tensor.grad_fn``: the recorded op that made a tensor, as PyTorch shows it.

``y.grad_fn.name()`` is ``'MulBackward0'`` for ``y = a * b``; ``next_functions`` lists, per
input, ``(grad_fn of that input, 0)``: the input's own node, an ``AccumulateGrad`` for a
leaf that requires grad (its ``variable`` is the leaf), or ``None``. These are views of
cnnlab's graph nodes (:class:`cnnlab.autograd.Node`) for reading; the engine does not use
them. Names are cnnlab's op classes plus ``Backward0``, which match PyTorch's for the
primitives (Add, Mul, Exp ...) and differ for composites (``mean`` is a Sum and a Mul).
"""

from __future__ import annotations

__all__ = ["AccumulateGrad", "GradFn", "grad_fn_of"]


class AccumulateGrad:
    """The end of a path: the gradient is added into the leaf ``variable``'s ``.grad``."""

    __slots__ = ("variable",)

    def __init__(self, variable) -> None:
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    @property
    def next_functions(self) -> tuple:
        return ()

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"

    def __eq__(self, other) -> bool:
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self) -> int:
        return hash(id(self.variable))


class GradFn:
    """One recorded op: ``name()``, ``next_functions`` and ``metadata``."""

    __slots__ = ("_node", "metadata")

    def __init__(self, node) -> None:
        self._node = node
        self.metadata: dict = {}

    def name(self) -> str:
        return f"{self._node.fn.__name__}Backward0"

    @property
    def next_functions(self) -> tuple:
        return tuple((_edge_fn(p), 0) for p in self._node.parents)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self._node):#x}>"

    def __eq__(self, other) -> bool:
        return isinstance(other, GradFn) and other._node is self._node

    def __hash__(self) -> int:
        return hash(id(self._node))


def _edge_fn(parent):
    if parent is None:
        return None
    if hasattr(parent, "fn"):  # an op's node
        return GradFn(parent)
    return AccumulateGrad(parent)  # a leaf tensor


def grad_fn_of(t) -> GradFn | None:
    """``t``'s grad_fn: None for a leaf or a tensor made without recording."""
    node = t._node
    return None if node is None else GradFn(node)

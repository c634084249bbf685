"""Parameter: a Tensor that a Module registers as learnable."""

from __future__ import annotations

from cnnlab.autograd import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default and is found by ``Module.parameters()``."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True) -> None:
        if isinstance(data, Tensor):
            data = data.array
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

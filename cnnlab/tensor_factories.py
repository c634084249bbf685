"""Tensor methods that make tensors like this one or fill it: ``new_zeros``, ``new_full``,
``type_as``, ``is_cuda``, ``pin_memory``, ``normal_``, ``uniform_``.

:class:`cnnlab.tensor.Tensor` inherits these (a base class with no state of its own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cnnlab import backend

if TYPE_CHECKING:
    from cnnlab.tensor import Tensor


class TensorFactories:
    """PyTorch's ``new_*`` factories, dtype/device helpers and random in-place fills."""

    __slots__ = ()

    # ------------------------------------------------------------ dtype, device
    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    def type_as(self, other) -> Tensor:
        """This tensor in ``other``'s dtype."""
        return self.to(dtype=other.dtype)

    def pin_memory(self) -> Tensor:
        """Host memory is what NumPy has; returns self (PyTorch pins it for fast copies)."""
        return self

    def _new(self, array, dtype, device, requires_grad: bool) -> Tensor:
        from cnnlab.creation import _make

        dtype = self.dtype if dtype is None else dtype
        return _make(array, dtype, self.device if device is None else device, requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
        from cnnlab.creation import _shape

        return self._new(np.zeros(_shape("new_zeros", size)), dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False) -> Tensor:
        from cnnlab.creation import _shape

        return self._new(np.ones(_shape("new_ones", size)), dtype, device, requires_grad)

    new_empty = new_zeros

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        from cnnlab.creation import _shape

        shape = _shape("new_full", (size,))
        return self._new(np.full(shape, fill_value), dtype, device, requires_grad)

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False) -> Tensor:
        return self._new(np.array(data), dtype, device, requires_grad)

    # ------------------------------------------------------------ random fills
    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        """Fill with normal samples from cnnlab's generator."""
        draw = backend.default_rng().normal(mean, std, self.shape)
        return self.copy_(self._new(draw, None, None, False))

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        """Fill with uniform samples in ``[a, b)`` from cnnlab's generator."""
        draw = backend.default_rng().uniform(a, b, self.shape)
        return self.copy_(self._new(draw, None, None, False))

"""Tensor's conversions: to NumPy and Python numbers, to other dtypes and devices.

:class:`cnnlab.tensor.Tensor` inherits these; they are here to keep each file to one job.
``.to(...)``, ``.cpu()``, ``.cuda()``, ``.float()`` and ``clone()`` are graph ops, so
gradients flow through them (as in PyTorch); ``numpy()``, ``item()`` and ``tolist()`` leave
the graph.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cnnlab import backend, devices
from cnnlab.ops import copy as _copy
from cnnlab.ops import elementwise as _ew

if TYPE_CHECKING:
    from cnnlab.tensor import Tensor


class TensorConversions:
    """The conversion methods of Tensor (a base class with no state of its own)."""

    __slots__ = ()

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shares memory on the CPU; no graph)."""
        return backend.to_numpy(self.array)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        a = backend.to_numpy(self.array)
        if dtype is not None:
            a = a.astype(dtype, copy=bool(copy))
        elif copy:
            a = a.copy()
        return a

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.array.size != 1:
            raise RuntimeError(
                f"a Tensor with {self.array.size} elements cannot be converted to a Python "
                "number (item() needs exactly one)"
            )
        return self.array.item()

    def __bool__(self) -> bool:
        if self.array.size != 1:
            what = "no values" if self.array.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {what} is ambiguous")
        return bool(self.array.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.array.dtype.kind not in "iu" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.array.item())

    def tolist(self):
        return backend.to_numpy(self.array).tolist()

    def clone(self) -> Tensor:
        """A copy of the data that stays in the graph (gradients flow back to ``self``)."""
        return _copy.Clone.apply(self)

    def astype(self, dtype) -> Tensor:
        return _ew.Cast.apply(self, dtype=np.dtype(dtype))

    to_dtype = astype
    type = astype

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def long(self) -> Tensor:
        return self.astype(np.int64)

    def int(self) -> Tensor:
        return self.astype(np.int32)

    def bool(self) -> Tensor:
        return self.astype(np.bool_)

    def to(
        self,
        *args,
        dtype=None,
        device=None,
        non_blocking: bool = False,
        copy: bool = False,
        memory_format=None,
    ) -> Tensor:
        """``to('cpu')``, ``to(cnnlab.device('cuda'))``, ``to(dtype)``, ``to(device, dtype)``,
        ``to(other_tensor)`` or ``to(device=..., dtype=...)``. Differentiable (a graph op);
        returns ``self`` when nothing changes and ``copy`` is False, as PyTorch.
        ``non_blocking`` is accepted (copies here are synchronous); ``memory_format``
        (``cnnlab.channels_last``...) as ``contiguous(memory_format=...)``."""
        dtype, device = devices.split_to_args("Tensor.to", args, dtype, device)
        out = self
        if dtype is not None and dtype != self.dtype:
            out = out.astype(dtype)
        here = self.device
        if device is not None and (
            device.type != here.type or (device.index is not None and device != here)
        ):
            out = _copy.ToDevice.apply(out, device=device)
        if memory_format is not None:
            out = out.contiguous(memory_format=memory_format)
        if copy and out is self:
            out = self.clone()
        return out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device: str = "cuda") -> Tensor:
        return self.to(device)

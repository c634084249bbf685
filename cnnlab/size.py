"""``cnnlab.Size``: a shape, as ``torch.Size`` (a tuple of ints with ``numel()``)."""

from __future__ import annotations

import math

__all__ = ["Size"]


class Size(tuple):
    """A tuple of dimension lengths: ``Size([2, 3]) == (2, 3)``, ``Size([2, 3]).numel() == 6``."""

    __slots__ = ()

    def __new__(cls, sizes=()):
        sizes = tuple(sizes)
        for n in sizes:
            if not isinstance(n, int) and not hasattr(n, "__index__"):
                raise TypeError(f"Size: expected ints, got {type(n).__name__} in {sizes}")
        return super().__new__(cls, (int(n) for n in sizes))

    @classmethod
    def _of(cls, shape: tuple) -> Size:
        """A Size from a NumPy shape, already ints: no checks (``Tensor.shape`` calls this)."""
        return tuple.__new__(cls, shape)

    def numel(self) -> int:
        """The number of elements a tensor of this shape holds."""
        return math.prod(self)

    def __getitem__(self, index):
        out = tuple.__getitem__(self, index)
        return tuple.__new__(Size, out) if type(index) is slice else out

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __repr__(self) -> str:
        return f"cnnlab.Size({list(self)})"

"""Dropout layers: active in training mode only (``model.eval()`` turns them off)."""

from __future__ import annotations

import cnnlab.nn.functional as F
from cnnlab.nn.module import Module

__all__ = ["Dropout", "Dropout2d"]


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{self._get_name()}: p must be in [0, 1], got {p}")
        self.p = p
        self.inplace = inplace  # accepted for PyTorch compatibility; never in place here

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zeroes each element with probability ``p`` and scales the rest by ``1 / (1 - p)``.

    Shape: any -> same.
    """

    def forward(self, x):
        return F.dropout(x, self.p, self.training)


class Dropout2d(_DropoutNd):
    """Zeroes whole channels (feature maps) with probability ``p``, scaling the rest.

    Shape: (N, C, H, W) -> same.
    """

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training)

"""The matrix product of a linear layer, its rows split over :mod:`cnnlab.threads`."""

from __future__ import annotations

from cnnlab.threads import matmul_rows as matmul

__all__ = ["matmul"]

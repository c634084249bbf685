"""What every oneDNN kernel does with its NumPy arguments: check them, and describe them."""

from __future__ import annotations

import numpy as np

__all__ = ["as_f32", "describe"]


def as_f32(a: np.ndarray, name: str, what: str) -> np.ndarray:
    """``a`` as a C-contiguous float32 array (a copy only if it is not one already)."""
    if not isinstance(a, np.ndarray) or a.dtype != np.float32:
        kind = a.dtype if isinstance(a, np.ndarray) else type(a).__name__
        raise TypeError(f"oneDNN {what}: {name} must be a float32 ndarray, got {kind}")
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def describe(**shapes) -> str:
    """``"x (2, 3, 8, 8), w (4, 3, 3, 3)"`` for error messages."""
    return ", ".join(f"{k} {tuple(v) if v is not None else None}" for k, v in shapes.items())

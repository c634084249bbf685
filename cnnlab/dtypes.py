"""PyTorch's dtype names (``cnnlab.float32``, ``cnnlab.long`` ...) as NumPy dtypes.

``cnnlab.float32 == np.float32`` and ``t.dtype == cnnlab.float32`` hold, and every function
that takes a ``dtype`` accepts them. ``cnnlab`` exposes these names lazily (so that
``cnnlab.float``, ``cnnlab.int`` and ``cnnlab.bool`` never shadow Python's builtins inside
the package).
"""

from __future__ import annotations

import numpy as np

DTYPES: dict[str, np.dtype] = {
    "float16": np.dtype(np.float16),
    "half": np.dtype(np.float16),
    "float32": np.dtype(np.float32),
    "float": np.dtype(np.float32),
    "float64": np.dtype(np.float64),
    "double": np.dtype(np.float64),
    "uint8": np.dtype(np.uint8),
    "int8": np.dtype(np.int8),
    "int16": np.dtype(np.int16),
    "short": np.dtype(np.int16),
    "int32": np.dtype(np.int32),
    "int": np.dtype(np.int32),
    "int64": np.dtype(np.int64),
    "long": np.dtype(np.int64),
    "bool": np.dtype(np.bool_),
    "complex64": np.dtype(np.complex64),
    "complex128": np.dtype(np.complex128),
}

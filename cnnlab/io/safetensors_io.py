"""Weights as safetensors files: a JSON header plus raw little-endian arrays, no pickle, no code.

The files are interchangeable with PyTorch: ``safetensors.torch.load_file(path)`` gives a
torch state_dict (same key names as ours), and ``save_weights(torch_state_dict, path)``
accepts torch tensors (anything with ``.numpy()`` or ``__array__``).
"""

from __future__ import annotations

import os
import tempfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import safetensors.numpy

from cnnlab import backend
from cnnlab.autograd import Tensor

__all__ = ["load_weights", "save_weights"]


def _as_numpy(value, key: str) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value.array
    elif hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    arr = backend.to_numpy(value)
    if arr.dtype == object:
        raise ValueError(f"save_weights: {key!r} is not a numeric array ({type(value).__name__})")
    return arr if arr.flags.c_contiguous else arr.copy(order="C")  # keeps 0-d arrays 0-d


def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, fsync it, then rename over ``path``: a crash
    leaves either the old file or the new one, never a half-written one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable (POSIX only; best effort)
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def save_weights(weights, path: str | os.PathLike, metadata: dict[str, str] | None = None) -> Path:
    """Save a state_dict (name -> array/Tensor) or a module's ``state_dict()`` to ``path`` as
    safetensors, atomically. ``metadata``: optional str -> str pairs stored in the header.

    Shape:
        each array is stored with its own shape and dtype (made C-contiguous).
    """
    if hasattr(weights, "state_dict") and callable(weights.state_dict):
        weights = weights.state_dict()
    if not hasattr(weights, "items"):
        raise ValueError(f"save_weights: expected a state_dict or a module, got {type(weights)}")
    arrays = {}
    for key, value in weights.items():
        if not isinstance(key, str):
            raise ValueError(f"save_weights: keys must be str, got {key!r}")
        arrays[key] = _as_numpy(value, key)
    path = Path(path)
    _atomic_write(path, safetensors.numpy.save(arrays, metadata=metadata))
    return path


def load_weights(path: str | os.PathLike) -> OrderedDict[str, np.ndarray]:
    """Load a safetensors file into an OrderedDict name -> writable NumPy array (sorted by name).

    Raises ``FileNotFoundError`` if missing and ``ValueError`` naming the file if it is corrupt
    or truncated.

    Shape:
        each array has the shape and dtype stored in the file.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        arrays = safetensors.numpy.load(data)
    except Exception as exc:  # safetensors raises its own SafetensorError and others
        raise ValueError(f"{path}: not a valid safetensors file ({exc})") from exc
    return OrderedDict((k, np.array(arrays[k], copy=True)) for k in sorted(arrays))

"""``cnnlab.save(obj, path)`` and ``cnnlab.load(path)``: PyTorch's two calls, over safetensors.

What can be saved: a Tensor, an array, or a dict (nested to any depth, str keys) of them,
such as ``model.state_dict()``. Nested names are flattened with dots (``{"model": {"w": t}}``
is stored as ``model.w``) and the nesting is written to the file's metadata, so ``load``
gives back the same structure, with Tensors where Tensors were saved and arrays where arrays
were. Anything else (a Module, an optimiser's state_dict with its lists and numbers, a
lambda) raises a ValueError saying what to save instead. Nothing is ever pickled, so loading
a file runs no code. Files written by other tools (``safetensors.torch.save_file``) load as
a flat dict of Tensors; a ``torch.save`` file is recognised and refused with the safe way to
read it.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from pathlib import Path

import numpy as np

from cnnlab import backend
from cnnlab.io.safetensors_io import _atomic_write
from cnnlab.io.torch_pickle import is_torch_file
from cnnlab.tensor import Tensor

__all__ = ["load", "save"]

FORMAT = "cnnlab.save"


def _leaf(value, name: str):
    """(host array, kind) for a savable leaf, else None."""
    if isinstance(value, Tensor):
        return backend.to_numpy(value.array), "tensor"
    if hasattr(value, "detach") and hasattr(value, "cpu") and hasattr(value, "numpy"):
        return value.detach().cpu().numpy(), "tensor"  # a torch tensor
    if isinstance(value, np.ndarray) or (hasattr(value, "shape") and hasattr(value, "dtype")):
        arr = backend.to_numpy(value)
        if arr.dtype == object:
            raise ValueError(
                f"cnnlab.save: {name!r} is an object array, which safetensors cannot hold"
            )
        return arr, "array"
    return None


def _flatten(obj, path: list, arrays: dict, entries: list) -> None:
    name = ".".join(path) or "<the object>"
    leaf = _leaf(obj, name)
    if leaf is not None:
        key = ".".join(path) or "tensor"
        if key in arrays:
            raise ValueError(f"cnnlab.save: two entries flatten to the same name {key!r}")
        arrays[key] = np.array(leaf[0], order="C")  # keeps 0-d arrays 0-d
        entries.append([path, key, leaf[1]])
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, str):
                raise ValueError(f"cnnlab.save: keys must be str, got {k!r} in {name!r}")
            _flatten(v, [*path, k], arrays, entries)
        return
    hint = (
        "save its state_dict() instead"
        if hasattr(obj, "state_dict")
        else "for training state (optimiser, scheduler, epoch) use cnnlab.train.save_checkpoint"
    )
    raise ValueError(
        f"cnnlab.save: {name!r} is a {type(obj).__name__}; cnnlab.save stores Tensors, arrays "
        f"and (nested) dicts of them, never pickles; {hint}"
    )


def save(obj, path: str | os.PathLike) -> Path:
    """Save a Tensor, an array or a (nested) dict of them (a state_dict) to ``path`` as a
    safetensors file, atomically.

    Shape:
        every array keeps its shape and dtype.
    """
    import safetensors.numpy

    arrays: dict = {}
    entries: list = []
    _flatten(obj, [], arrays, entries)
    layout = {"root": "dict" if isinstance(obj, dict) else "leaf", "entries": entries}
    path = Path(path)
    _atomic_write(path, safetensors.numpy.save(arrays, metadata={FORMAT: json.dumps(layout)}))
    return path


def _read(path: Path) -> tuple[dict, dict | None]:
    import safetensors.numpy

    raw = path.read_bytes()
    if is_torch_file(raw[:8]):
        raise ValueError(
            f"{path} is a PyTorch checkpoint (torch.save, a pickle), which cnnlab never "
            "unpickles. Read it without running code with "
            "cnnlab.io.load_torch_checkpoint(path), which returns its tensors as NumPy arrays"
        )
    try:
        arrays = safetensors.numpy.load(raw)
        header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
    except Exception as exc:  # safetensors raises its own error types; all mean a bad file
        raise ValueError(f"{path}: not a valid safetensors file ({exc})") from None
    meta = header.get("__metadata__") or {}
    return arrays, (json.loads(meta[FORMAT]) if FORMAT in meta else None)


def load(path: str | os.PathLike):
    """Load what :func:`save` wrote: the same structure, Tensors where Tensors were saved.
    Other safetensors files give a flat ``OrderedDict`` name -> Tensor.

    Shape:
        every array has the shape and dtype stored in the file.
    """
    path = Path(path)
    arrays, layout = _read(path)
    if layout is None:
        return OrderedDict((k, Tensor(np.array(arrays[k]))) for k in sorted(arrays))

    def make(key: str, kind: str):
        arr = np.array(arrays[key])  # writable copy
        return Tensor(arr) if kind == "tensor" else arr

    if layout["root"] == "leaf":
        ((_, key, kind),) = layout["entries"]
        return make(key, kind)
    out: dict = OrderedDict()
    for parts, key, kind in layout["entries"]:
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, OrderedDict())
        node[parts[-1]] = make(key, kind)
    return out

"""``cnnlab.save(obj, path)`` and ``cnnlab.load(path)``: PyTorch's two calls, over safetensors.

What can be saved: a Tensor, an array, or a dict (nested to any depth, str keys) of them, such
as ``model.state_dict()``. Nested names are flattened with dots (``{"model": {"w": t}}`` is
stored as ``model.w``) and the nesting is written to the file's metadata, so ``load`` gives back
the same structure, with Tensors where Tensors were saved and arrays where arrays were. A dict
that also holds numbers, strings, lists, tuples or int keys (the tutorials' ``{"epoch": e,
"model_state_dict": ..., "optimizer_state_dict": ...}``) is stored the same way, its structure
as a JSON skeleton (:mod:`cnnlab.io.skeleton`). Anything else (a Module, a lambda) raises a
ValueError saying what to save instead. Nothing is ever pickled, so loading a file runs no code.
Files written by other tools (``safetensors.torch.save_file``) load as a flat dict of Tensors. A
``torch.save`` file is read through the allowlisting reader
(:func:`cnnlab.io.load_torch_checkpoint`), as ``torch.load(weights_only=True)`` reads it: its
tensors come back as Tensors, its containers and numbers as they were, and a file that names
anything else (a pickled class, a function) is refused before anything runs.

Both calls take PyTorch's arguments: ``save(obj, f, pickle_module, pickle_protocol)`` and
``load(f, map_location, pickle_module, *, weights_only, mmap)``; ``f`` may be a path or a
binary file object. ``weights_only=False`` (load anything, running the pickle's code) is
refused, since cnnlab never unpickles.
"""

from __future__ import annotations

import json
import tempfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from cnnlab import backend
from cnnlab.io import skeleton
from cnnlab.io.safetensors_io import _atomic_write
from cnnlab.io.torch_pickle import is_torch_file, load_torch_checkpoint
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
                raise _NotFlat
            _flatten(v, [*path, k], arrays, entries)
        return
    raise _NotFlat


class _NotFlat(Exception):
    """The object holds more than Tensors, arrays and str-keyed dicts: stored as a skeleton."""


def _refuse(obj, exc) -> ValueError:
    hint = (
        "save its state_dict() instead"
        if hasattr(obj, "state_dict")
        else "convert it to one of those first"
    )
    return ValueError(
        f"cnnlab.save: {exc}; cnnlab.save stores Tensors, arrays, numbers, strings and lists, "
        f"tuples and dicts of them, never pickles; {hint}"
    )


def save(
    obj,
    f,
    pickle_module=None,
    pickle_protocol: int = 2,
    _use_new_zipfile_serialization: bool = True,
    _disable_byteorder_record: bool = False,
):
    """Save a Tensor, an array or a (nested) dict of them (a state_dict) to ``f`` (a path,
    written atomically, or a binary file object) as a safetensors file. The pickle arguments
    are PyTorch's; a ``pickle_module`` other than None or ``pickle`` is refused.

    Shape:
        every array keeps its shape and dtype.
    """
    import pickle

    import safetensors.numpy

    if pickle_module is not None and pickle_module is not pickle:
        raise ValueError(
            f"cnnlab.save: pickle_module={pickle_module!r} is not used: cnnlab.save writes "
            "safetensors, never a pickle; leave pickle_module out"
        )
    arrays: dict = {}
    entries: list = []
    try:  # a state_dict: flat dotted names, readable by any safetensors reader
        _flatten(obj, [], arrays, entries)
        layout = {"root": "dict" if isinstance(obj, dict) else "leaf", "entries": entries}
    except _NotFlat:  # {'epoch': 3, 'optimizer_state_dict': ...}: a JSON skeleton around it
        arrays = {}
        try:
            layout = {"root": "skeleton", "skeleton": skeleton.encode(obj, "", arrays)}
        except ValueError as exc:
            raise _refuse(getattr(exc, "value", obj), exc) from None
    data = safetensors.numpy.save(arrays, metadata={FORMAT: json.dumps(layout)})
    if hasattr(f, "write"):
        f.write(data)
        return f
    path = Path(f)
    _atomic_write(path, data)
    return path


def _read_safetensors(raw: bytes, where: str) -> tuple[dict, dict | None]:
    import safetensors.numpy

    try:
        arrays = safetensors.numpy.load(raw)
        header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
    except Exception as exc:  # safetensors raises its own error types; all mean a bad file
        raise ValueError(f"{where}: not a valid safetensors file ({exc})") from None
    meta = header.get("__metadata__") or {}
    return arrays, (json.loads(meta[FORMAT]) if FORMAT in meta else None)


def _target_device(map_location) -> str | None:
    """``'cpu'``/``'cuda'`` from a map_location (a string, a device, a dict or a function)."""
    if map_location is None or callable(map_location) or isinstance(map_location, dict):
        return None  # cnnlab reads to host memory: a remapping function or table keeps it there
    name = str(getattr(map_location, "type", map_location)).split(":")[0]
    if name not in ("cpu", "cuda"):
        raise ValueError(
            f"cnnlab.load: map_location {map_location!r} is not a device cnnlab has "
            "(expected 'cpu' or 'cuda')"
        )
    return name


def _as_tensors(obj, device: str | None):
    """A torch checkpoint's structure with its arrays made Tensors (on ``device``)."""
    if isinstance(obj, np.ndarray):
        t = Tensor(obj)
        return t if device in (None, "cpu") else t.to(device)
    if isinstance(obj, OrderedDict):
        return OrderedDict((k, _as_tensors(v, device)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: _as_tensors(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_as_tensors(v, device) for v in obj)
    return obj


def _read_torch(f, raw: bytes):
    """A torch.save file through the allowlisting reader, which reads from a path."""
    if not hasattr(f, "read"):
        return load_torch_checkpoint(f)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "checkpoint.pt"
        path.write_bytes(raw)
        return load_torch_checkpoint(path)


def load(
    f,
    map_location=None,
    pickle_module=None,
    *,
    weights_only: bool | None = None,
    mmap: bool | None = None,
    **pickle_load_args,
):
    """Load what :func:`save` wrote (the same structure, Tensors where Tensors were saved),
    a foreign safetensors file (a flat ``OrderedDict`` name -> Tensor), or a ``torch.save``
    file, read without running code as ``torch.load(weights_only=True)`` does: Tensors in
    its dicts, lists and tuples. ``map_location`` ``'cpu'``/``'cuda'`` (or a device) moves the
    Tensors there; a dict or function leaves them in host memory.

    Shape:
        every array has the shape and dtype stored in the file.
    """
    if weights_only is False:
        raise ValueError(
            "cnnlab.load: weights_only=False would unpickle arbitrary objects, which runs code "
            "from the file; cnnlab never unpickles. Leave weights_only out (or True): tensors, "
            "dicts, lists and numbers load without it"
        )
    device = _target_device(map_location)
    if hasattr(f, "read"):
        raw, where = f.read(), getattr(f, "name", "<file object>")
    else:
        raw, where = Path(f).read_bytes(), str(f)
    if is_torch_file(raw[:8]):
        return _as_tensors(_read_torch(f, raw), device)
    arrays, layout = _read_safetensors(raw, where)

    def make(key: str, kind: str):
        arr = np.array(arrays[key])  # writable copy
        if kind != "tensor":
            return arr
        return _as_tensors(arr, device)

    if layout is None:
        return OrderedDict((k, make(k, "tensor")) for k in sorted(arrays))
    if layout["root"] == "skeleton":
        return skeleton.decode(layout["skeleton"], make)
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

"""Nested Python values as a JSON skeleton plus a flat dict of arrays: how ``cnnlab.save``
and training checkpoints store dicts, lists, tuples, numbers and strings around their
tensors without pickling anything.

Each array (or Tensor) is replaced by ``{"__tensor__": key}`` (``"kind": "tensor"`` when it
was a Tensor) and stored under ``key``, the dotted path to it. Tuples become
``{"__tuple__": [...]}`` and dicts whose keys are not all plain strings (an optimiser's
state, keyed by parameter index) ``{"__dict__": [[key, value], ...]}``. Loading parses JSON
and raw arrays only: it runs no code.
"""

from __future__ import annotations

import numpy as np

from cnnlab import backend

__all__ = ["decode", "encode", "is_array"]


def is_array(v) -> bool:
    """An array of any backend (not a NumPy scalar)."""
    return hasattr(v, "shape") and hasattr(v, "dtype") and not isinstance(v, np.generic)


def _torch_tensor(v) -> bool:
    return hasattr(v, "detach") and hasattr(v, "cpu") and hasattr(v, "numpy")


def _join(key: str, part) -> str:
    return f"{key}.{part}" if key else str(part)


def encode(value, key: str, arrays: dict, error=ValueError):
    """The JSON-able skeleton of ``value``; its arrays go into ``arrays`` under dotted keys.
    A value of another type raises ``error`` naming its place."""
    kind = None
    if is_array(getattr(value, "array", None)):  # a cnnlab Tensor
        value, kind = value.array, "tensor"
    elif _torch_tensor(value):
        value, kind = value.detach().cpu().numpy(), "tensor"
    if is_array(value):
        arr = np.array(backend.to_numpy(value), order="C")  # keeps 0-d shapes
        if arr.dtype == object:
            raise error(f"{key!r} is an object array, which cannot be stored without pickling")
        arrays[key] = arr
        return {"__tensor__": key, "kind": kind} if kind else {"__tensor__": key}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, _join(key, i), arrays, error) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [encode(v, _join(key, i), arrays, error) for i, v in enumerate(value)]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: encode(v, _join(key, k), arrays, error) for k, v in value.items()}
        return {
            "__dict__": [
                [encode(k, "", {}, error), encode(v, _join(key, k), arrays, error)]
                for k, v in value.items()
            ]
        }
    where = repr(key) if key else "the top level"
    exc = error(f"cannot store a {type(value).__name__} at {where} without pickling it")
    exc.value = value  # for a caller's hint (a Module: save its state_dict)
    raise exc


def decode(value, make):
    """The value :func:`encode` gave the skeleton of; ``make(key, kind)`` returns each array
    (``kind`` is ``"tensor"`` or None)."""
    if isinstance(value, list):
        return [decode(v, make) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tensor__" in value:
        return make(value["__tensor__"], value.get("kind"))
    if "__tuple__" in value:
        return tuple(decode(v, make) for v in value["__tuple__"])
    if "__dict__" in value:
        return {decode(k, make): decode(v, make) for k, v in value["__dict__"]}
    return {k: decode(v, make) for k, v in value.items()}

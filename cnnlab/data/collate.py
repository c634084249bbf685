"""Collation: a list of samples merged into one batch of Tensors, as PyTorch's
``default_collate`` (and ``default_convert`` for unbatched loading); the DataLoader's
per-item path and custom ``collate_fn`` results go through here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral, Number

import numpy as np

from cnnlab import backend
from cnnlab.autograd import Tensor

__all__ = ["default_collate", "default_convert"]


def _stack(arrays: list, xp=np):
    try:
        return xp.stack(arrays)
    except ValueError as e:
        shapes = sorted({tuple(a.shape) for a in arrays})
        raise RuntimeError(
            f"default_collate: stack expects each sample to have the same size, got shapes {shapes}"
        ) from e


def default_collate(batch: list):
    """Merge a list of samples into a batch, as ``torch.utils.data.default_collate``.

    Tensors and NumPy arrays are stacked into one Tensor (a new leading dimension); Python
    ints give an int64 Tensor, floats a float64 Tensor, bools a bool Tensor; strings stay a
    list; dicts, named tuples and sequences are collated field by field (a tuple sample gives
    a list, as in PyTorch).

    Shape:
        - batch: N samples ``(image (C, H, W), label)``; output: ``[images (N, C, H, W),
          labels (N,) int64]``
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        xp = backend.get_array_module(elem.array)
        return Tensor(_stack([xp.asarray(b.array) for b in batch], xp))
    if isinstance(elem, np.ndarray) or (isinstance(elem, np.generic) and elem.ndim == 0):
        if elem.dtype.kind in "SUO":
            raise TypeError(
                f"default_collate: cannot batch NumPy arrays of dtype {elem.dtype}; "
                "only numbers and booleans"
            )
        return Tensor(_stack([np.asarray(b) for b in batch]))
    if isinstance(elem, bool):
        return Tensor(np.asarray(batch, dtype=bool))
    if isinstance(elem, Integral):
        return Tensor(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, Number):
        return Tensor(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a named tuple
        return type(elem)(*(default_collate(list(f)) for f in zip(*batch)))
    if isinstance(elem, Sequence):
        if any(len(b) != len(elem) for b in batch):
            raise RuntimeError(
                "default_collate: each element in list of batch should be of equal size"
            )
        fields = [default_collate(list(f)) for f in zip(*batch)]
        if isinstance(elem, (tuple, list)):
            return fields
        try:
            return type(elem)(fields)
        except TypeError:  # a sequence type that cannot be built from a list
            return fields
    raise TypeError(
        "default_collate: batch must contain Tensors, NumPy arrays, numbers, dicts or lists; "
        f"found {type(elem).__name__}"
    )


def default_convert(data):
    """One sample with its NumPy arrays made Tensors (``batch_size=None``: no batching)."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "SUO":
        return Tensor(data)
    if isinstance(data, Mapping):
        return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(v) for v in data))
    if isinstance(data, (tuple, list)):
        return [default_convert(v) for v in data]
    return data


def _arrays_to_tensors(batch):
    """A custom collate's tuple or list with its NumPy arrays made Tensors."""
    if isinstance(batch, (tuple, list)) and not hasattr(batch, "_fields"):
        return type(batch)(Tensor(a) if isinstance(a, np.ndarray) else a for a in batch)
    return Tensor(batch) if isinstance(batch, np.ndarray) else batch

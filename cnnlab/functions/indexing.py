"""Index-driven rearrangements with PyTorch's signatures: ``nonzero``/``argwhere``,
``roll``, ``repeat_interleave``, ``diag``, ``meshgrid``.

Each is a composite of indexing, concatenation, expansion and
:class:`~cnnlab.ops.index_put.IndexPut`, so gradients flow where PyTorch's do.
"""

from __future__ import annotations

import numpy as np

from cnnlab.autograd import Tensor
from cnnlab.backend import get_array_module
from cnnlab.ops import shape as _shape
from cnnlab.ops.index_put import IndexPut

__all__ = ["argwhere", "diag", "meshgrid", "nonzero", "repeat_interleave", "roll"]


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the nonzero elements: an int64 ``(n, ndim)`` tensor, or with ``as_tuple``
    one 1-D index tensor per dim."""
    a = input.array
    where = get_array_module(a).nonzero(a)
    if as_tuple:
        return tuple(Tensor._make(w.astype(np.int64), False) for w in where)
    xp = get_array_module(a)
    return Tensor._make(xp.stack(where, axis=1).astype(np.int64), False)


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: one row of indices per nonzero element."""
    return nonzero(input)


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements along ``dims`` by ``shifts``, wrapping around; without ``dims`` the
    flattened tensor is rolled and given its shape back."""
    if dims is None:
        flat = input.reshape(-1)
        return roll(flat, shifts, 0).reshape(input.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: {len(shifts)} shifts for {len(dims)} dims")
    out = input
    for s, d in zip(shifts, dims):
        n = out.shape[d]
        s = s % n if n else 0
        if s:
            lead = (slice(None),) * (d % out.ndim)
            tail = _shape.GetItem.apply(out, index=lead + (slice(n - s, n),))
            head = _shape.GetItem.apply(out, index=lead + (slice(0, n - s),))
            out = _shape.cat([tail, head], dim=d)
    return out


def repeat_interleave(input: Tensor, repeats, dim=None) -> Tensor:
    """Repeat each element ``repeats`` times (a number, or one count per element) along
    ``dim``; without ``dim`` the flattened tensor."""
    if dim is None:
        input, dim = input.reshape(-1), 0
    n = input.shape[dim]
    counts = repeats.array if isinstance(repeats, Tensor) else repeats
    order = np.repeat(np.arange(n), np.asarray(counts))
    lead = (slice(None),) * (dim % input.ndim)
    return _shape.GetItem.apply(input, index=lead + (order,))


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-D tensor as the ``diagonal``-th diagonal of a square matrix, or the
    ``diagonal``-th diagonal of a 2-D tensor as a 1-D tensor."""
    if input.ndim == 1:
        n = input.shape[0] + abs(diagonal)
        i = np.arange(input.shape[0])
        rows, cols = (i, i + diagonal) if diagonal >= 0 else (i - diagonal, i)
        xp = get_array_module(input.array)
        blank = Tensor._make(xp.zeros((n, n), dtype=input.dtype), False)
        return IndexPut.apply(blank, input, index=(rows, cols))
    if input.ndim != 2:
        raise ValueError(f"diag: expects a 1-D or 2-D tensor, got shape {tuple(input.shape)}")
    r, c = input.shape
    start_r, start_c = (0, diagonal) if diagonal >= 0 else (-diagonal, 0)
    k = max(min(r - start_r, c - start_c), 0)
    i = np.arange(k)
    return _shape.GetItem.apply(input, index=(i + start_r, i + start_c))


def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Coordinate grids from 1-D tensors: ``indexing='ij'`` (matrix, PyTorch's default) or
    ``'xy'`` (Cartesian: the first two dims swapped)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    ts = list(tensors)
    if indexing == "xy" and len(ts) >= 2:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.numel() for t in ts)
    grids = []
    for i, t in enumerate(ts):
        view = [1] * len(ts)
        view[i] = -1
        grids.append(t.reshape(view).expand(shape))
    if indexing == "xy" and len(ts) >= 2:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)

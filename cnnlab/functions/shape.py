"""Shape and indexing functions with PyTorch's signatures: ``reshape``, ``squeeze``,
``split``, ``chunk``, ``unbind``, ``flip``, ``gather``, ``index_select``, ``masked_fill``,
``cat``/``stack`` and their aliases, ``numel``.

All are composites of the shape ops (reshape, permute, expand, indexing, cat) and
:class:`~cnnlab.ops.gather.Gather`, so gradients flow through each piece.
"""

from __future__ import annotations

from cnnlab.autograd import Tensor
from cnnlab.backend import get_array_module
from cnnlab.functions.out import into
from cnnlab.ops import shape as _shape
from cnnlab.ops.elementwise import Where
from cnnlab.ops.gather import Gather

__all__ = [
    "cat",
    "chunk",
    "concat",
    "concatenate",
    "flatten",
    "flip",
    "gather",
    "hstack",
    "index_select",
    "masked_fill",
    "narrow",
    "numel",
    "permute",
    "repeat",
    "reshape",
    "split",
    "squeeze",
    "stack",
    "swapaxes",
    "tile",
    "transpose",
    "tril",
    "triu",
    "unbind",
    "unsqueeze",
    "vstack",
]


def cat(tensors, dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Concatenate along ``dim``."""
    tensors = list(tensors)
    return into("cat", out, _shape.cat(tensors, dim), *tensors)


concat = concatenate = cat


def stack(tensors, dim: int = 0, *, out: Tensor | None = None) -> Tensor:
    """Stack along a new ``dim``."""
    tensors = list(tensors)
    return into("stack", out, _shape.stack(tensors, dim), *tensors)


flatten = _shape.flatten
transpose = swapaxes = _shape.transpose


def numel(input: Tensor) -> int:
    """The number of elements."""
    return input.numel()


def reshape(input: Tensor, shape) -> Tensor:
    """The same elements in ``shape`` (one dim may be -1)."""
    return input.reshape(shape)


def permute(input: Tensor, dims) -> Tensor:
    """The dims reordered as ``dims``."""
    return input.permute(dims)


def squeeze(input: Tensor, dim=None) -> Tensor:
    """Drop size-1 dims (all, or ``dim`` which may be a tuple)."""
    if isinstance(dim, (tuple, list)):
        dims = {d % input.ndim for d in dim}
        shape = tuple(n for i, n in enumerate(input.shape) if i not in dims or n != 1)
        return input.reshape(shape)
    return _shape.squeeze(input, dim)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """A size-1 dim inserted at ``dim``."""
    return _shape.unsqueeze(input, dim)


def hstack(tensors) -> Tensor:
    """Concatenate along dim 1 (dim 0 for 1-D tensors)."""
    tensors = list(tensors)
    return _shape.cat(tensors, dim=0 if tensors[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Concatenate along dim 0, 1-D tensors taken as rows."""
    return _shape.cat([t.reshape(1, -1) if t.ndim == 1 else t for t in tensors], dim=0)


def _slice(input: Tensor, dim: int, start: int, stop: int) -> Tensor:
    index = (slice(None),) * (dim % input.ndim) + (slice(start, stop),)
    return _shape.GetItem.apply(input, index=index)


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the listed
    sizes, which must add up to the dim's length."""
    n = tensor.shape[dim]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ValueError(f"split: split_size must be > 0, got {step}")
        sizes = [min(step, n - s) for s in range(0, n, step)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise ValueError(
                f"split: sizes {sizes} add up to {sum(sizes)}, dim {dim} has length {n}"
            )
    out, start = [], 0
    for s in sizes:
        out.append(_slice(tensor, dim, start, start + s))
        start += s
    return tuple(out)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` pieces of ``ceil(n / chunks)`` along ``dim``, as PyTorch."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be > 0, got {chunks}")
    n = input.shape[dim]
    return split(input, max(-(-n // chunks), 1), dim)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, that dim removed."""
    dim = dim % input.ndim
    lead = (slice(None),) * dim
    return tuple(_shape.GetItem.apply(input, index=lead + (i,)) for i in range(input.shape[dim]))


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """``length`` elements of ``dim`` from ``start``."""
    n = input.shape[dim]
    start = start % n if start < 0 else start
    if start + length > n:
        raise ValueError(f"narrow: start {start} + length {length} exceeds dim {dim} of size {n}")
    return _slice(input, dim, start, start + length)


def flip(input: Tensor, dims) -> Tensor:
    """Reverse the order of elements along ``dims``."""
    dims = (dims,) if isinstance(dims, int) else dims
    index = [slice(None)] * input.ndim
    for d in dims:
        index[d % input.ndim] = slice(None, None, -1)
    return _shape.GetItem.apply(input, index=tuple(index))


def _int_array(name: str, index):
    a = index.array if isinstance(index, Tensor) else index
    if getattr(a, "dtype", None) is None or a.dtype.kind not in "iu":
        raise TypeError(f"{name}: index must be an integer tensor, got {getattr(a, 'dtype', a)}")
    return a


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """``out[i][j] = input[i][index[i][j]]`` for ``dim=1`` (any number of dims)."""
    idx = _int_array("gather", index)
    if idx.ndim != input.ndim:
        raise ValueError(
            f"gather: index must have as many dims as input ({input.ndim}), got {idx.ndim}"
        )
    return Gather.apply(input, index=idx, dim=dim)


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries ``index`` (1-D) of ``dim``."""
    idx = _int_array("index_select", index)
    if idx.ndim > 1:
        raise ValueError(f"index_select: index must be 1-D, got shape {tuple(idx.shape)}")
    lead = (slice(None),) * (dim % input.ndim)
    return _shape.GetItem.apply(input, index=lead + (idx.reshape(-1),))


def masked_fill(input: Tensor, mask, value) -> Tensor:
    """``value`` where ``mask`` (boolean, broadcast to ``input``) is True, else ``input``."""
    m = mask.array if isinstance(mask, Tensor) else mask
    if m.dtype.kind != "b":
        raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {m.dtype}")
    out = Where.apply(m, value, input)
    return out if out.dtype == input.dtype else out.astype(input.dtype)


def _triangle(name: str, input: Tensor, diagonal: int, lower: bool) -> Tensor:
    if input.ndim < 2:
        raise ValueError(f"{name}: expects a tensor with >= 2 dims, got shape {tuple(input.shape)}")
    xp = get_array_module(input.array)
    rows, cols = input.shape[-2:]
    keep = (xp.tril if lower else xp.triu)(xp.ones((rows, cols), dtype=bool), diagonal)
    return Where.apply(keep, input, xp.zeros((), dtype=input.dtype))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (on and below ``diagonal``), zeros above."""
    return _triangle("tril", input, diagonal, True)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (on and above ``diagonal``), zeros below."""
    return _triangle("triu", input, diagonal, False)


def repeat(input: Tensor, *sizes) -> Tensor:
    """Tile ``input`` ``sizes[i]`` times along dim ``i`` (``Tensor.repeat``); extra leading
    sizes add dims."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    if len(sizes) < input.ndim:
        raise ValueError(
            f"repeat: got {len(sizes)} sizes for a tensor with {input.ndim} dims (need at least)"
        )
    x = input.reshape((1,) * (len(sizes) - input.ndim) + tuple(input.shape))
    inter, final = [], []
    for r, n in zip(sizes, x.shape):
        inter += [1, n]
        final.append(r * n)
    x = x.reshape(inter)
    x = x.expand(tuple(v for pair in zip(sizes, x.shape[1::2]) for v in pair))
    return x.reshape(final)


def tile(input: Tensor, dims) -> Tensor:
    """``repeat`` with leading 1s added when ``dims`` is shorter than ``input``'s dims."""
    dims = tuple(dims)
    return repeat(input, (1,) * (input.ndim - len(dims)) + dims)

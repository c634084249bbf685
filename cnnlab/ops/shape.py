"""Shape and indexing primitives: reshape, permute, expand, index, cat, pad."""

from __future__ import annotations

import numpy as np

from cnnlab import kernels
from cnnlab.autograd import Function
from cnnlab.backend import get_array_module
from cnnlab.memory_format import channels_last, is_format
from cnnlab.tensor import Tensor


class Reshape(Function):
    saves_inputs = False  # backward needs no input values

    @staticmethod
    def forward(x, *, shape):
        return _reshaped(x, shape), x.shape

    # dL/dx = reshape(g, x.shape)
    @staticmethod
    def backward(ctx, g):
        return (g.reshape(ctx),)


def _reshaped(x, shape):
    """``x.reshape(shape)``: a view where the memory allows one, else a copy; an image that
    is not C-contiguous (channels last, flattened for a linear layer) is first copied into
    C order by the kernel layer, on all threads."""
    if x.flags.c_contiguous or x.ndim != 4:
        return x.reshape(shape)
    view = x.view()
    try:
        view.shape = shape  # refused where the values are not in order in memory
    except AttributeError:
        return kernels.contiguous(x).reshape(shape)
    return view


class Permute(Function):
    saves_inputs = False  # backward needs no input values

    @staticmethod
    def forward(x, *, dims):
        dims = tuple(d % x.ndim for d in dims)
        if sorted(dims) != list(range(x.ndim)):
            raise ValueError(f"permute: dims {dims} are not a permutation of {x.ndim} axes")
        return x.transpose(dims), dims

    # dL/dx = g permuted by the inverse permutation
    @staticmethod
    def backward(ctx, g):
        inv = [0] * len(ctx)
        for i, d in enumerate(ctx):
            inv[d] = i
        return (g.transpose(inv),)


class Expand(Function):
    saves_inputs = False  # backward needs no input values

    @staticmethod
    def forward(x, *, shape):
        xp = get_array_module(x)
        lead = len(shape) - x.ndim
        shape = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
        return xp.broadcast_to(x, shape), None

    # dL/dx = g summed over the expanded dims (the engine un-broadcasts)
    @staticmethod
    def backward(ctx, g):
        return (g,)


def _is_basic(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items)


class GetItem(Function):
    saves_inputs = False  # backward needs no input values

    @staticmethod
    def forward(x, *, index):
        # the gradient is made in x's memory format, as PyTorch's: a channels-last image's
        # stays channels-last, so the residual add it meets adds two arrays alike
        cl = not x.flags.c_contiguous and is_format(x, channels_last)
        return x[index], (x.shape, index, cl)

    # dL/dx = zeros with g scattered (added, for repeated advanced indices) at index
    @staticmethod
    def backward(ctx, g):
        shape, index, cl = ctx
        xp = get_array_module(g)
        if cl:
            n, c, h, w = shape
            gx = xp.zeros((n, h, w, c), dtype=g.dtype).transpose(0, 3, 1, 2)
        else:
            gx = xp.zeros(shape, dtype=g.dtype)
        if _is_basic(index):
            gx[index] = g
        else:
            xp.add.at(gx, index, g)
        return (gx,)


class Cat(Function):
    @staticmethod
    def forward(*xs, dim=0):
        xp = get_array_module(*xs)
        dim = dim % xs[0].ndim
        return xp.concatenate(xs, axis=dim), (dim, [x.shape[dim] for x in xs])

    # dL/dx_i = the slice of g that x_i filled
    @staticmethod
    def backward(ctx, g):
        dim, sizes = ctx
        out, start = [], 0
        for n in sizes:
            idx = [slice(None)] * g.ndim
            idx[dim] = slice(start, start + n)
            out.append(g[tuple(idx)])
            start += n
        return tuple(out)


class Pad(Function):
    @staticmethod
    def forward(x, *, pad, value=0.0):
        xp = get_array_module(x)
        if len(pad) % 2 or len(pad) // 2 > x.ndim:
            raise ValueError(f"pad: expected pairs for at most {x.ndim} dims, got {pad}")
        widths = [(0, 0)] * x.ndim
        for i in range(len(pad) // 2):
            widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
        if any(a < 0 or b < 0 for a, b in widths):
            raise ValueError(f"pad: negative padding {pad} is not supported")
        inner = tuple(slice(a, a + n) for (a, _), n in zip(widths, x.shape))
        # in x's memory order (as PyTorch's constant pad): a channels-last image stays one,
        # so the residual add it meets runs on two arrays alike
        shape = tuple(n + a + b for n, (a, b) in zip(x.shape, widths))
        y = xp.empty_like(x, shape=shape)
        y.fill(value)
        y[inner] = x
        return y, inner

    # dL/dx = g with the padding cropped off
    @staticmethod
    def backward(ctx, g):
        return (g[ctx],)


class PadIndexed(Function):
    """Padding by repeating the input's own values: per padded axis ``y = x.take(index)``,
    ``index`` mapping each output position to the input position it copies. ``mode`` and
    ``pad`` (F.pad's arguments) are kept for the ONNX exporter."""

    @staticmethod
    def forward(x, *, index, mode=None, pad=None):
        xp = get_array_module(x)
        y = x
        for axis, idx in index:
            y = y.take(xp.asarray(idx), axis=axis)
        return y, (index, x.shape)

    # dL/dx = per padded axis in reverse: scatter-add g back to the positions each copied
    @staticmethod
    def backward(ctx, g):
        index, shape = ctx
        xp = get_array_module(g)
        for axis, idx in reversed(index):
            out = xp.zeros(g.shape[:axis] + (shape[axis],) + g.shape[axis + 1 :], g.dtype)
            xp.add.at(out, (slice(None),) * axis + (xp.asarray(idx),), g)
            g = out
        return (g,)


def _pad_index(mode: str, n: int, before: int, after: int) -> np.ndarray:
    i = np.arange(-before, n + after)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        return i % n
    period = 2 * (n - 1)  # reflect: mirror about the edges, the edge value not repeated
    j = np.abs(i) % period if period else np.zeros_like(i)
    return np.where(j >= n, period - j, j)


def cat(tensors, dim: int = 0) -> Tensor:
    """Concatenate along ``dim``."""
    return Cat.apply(*tensors, dim=dim)


def stack(tensors, dim: int = 0) -> Tensor:
    """Stack along a new ``dim``."""
    tensors = list(tensors)
    nd = tensors[0].ndim + 1
    dim = dim % nd
    return Cat.apply(*[unsqueeze(t, dim) for t in tensors], dim=dim)


def pad(x: Tensor, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    """``torch.nn.functional.pad``: ``pad`` lists (left, right) pairs from the last dim back.

    ``mode`` 'constant' (fills ``value``), 'reflect' (mirrors, edge not repeated),
    'replicate' (repeats the edge) or 'circular' (wraps around).

    Shape: any; each padded dim grows by its two pads.
    """
    pad = tuple(int(p) for p in pad)
    if mode == "constant":
        return Pad.apply(x, pad=pad, value=value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(
            f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}"
        )
    if len(pad) % 2 or len(pad) // 2 > x.ndim or min(pad, default=0) < 0:
        raise ValueError(f"pad: expected non-negative pairs for at most {x.ndim} dims, got {pad}")
    index = []
    for i in range(len(pad) // 2):
        axis, (a, b) = x.ndim - 1 - i, pad[2 * i : 2 * i + 2]
        n = x.shape[axis]
        if (a or b) and (n == 0 or (mode == "reflect" and max(a, b) >= n)):
            raise ValueError(
                f"pad: mode {mode!r} needs pads below the size of dim {axis} ({n}), got {(a, b)}"
            )
        if a or b:
            index.append((axis, _pad_index(mode, n, a, b)))
    return PadIndexed.apply(x, index=tuple(index), mode=mode, pad=pad) if index else x


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    dims = list(range(x.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return Permute.apply(x, dims=tuple(dims))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    nd = x.ndim
    if nd == 0:
        return Reshape.apply(x, shape=(1,))
    s, e = start_dim % nd, end_dim % nd
    n = 1
    for d in x.shape[s : e + 1]:
        n *= d
    return Reshape.apply(x, shape=x.shape[:s] + (n,) + x.shape[e + 1 :])


def squeeze(x: Tensor, dim=None) -> Tensor:
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        dim = dim % x.ndim
        shape = x.shape if x.shape[dim] != 1 else x.shape[:dim] + x.shape[dim + 1 :]
    return Reshape.apply(x, shape=shape)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    dim = dim % (x.ndim + 1)
    return Reshape.apply(x, shape=x.shape[:dim] + (1,) + x.shape[dim:])

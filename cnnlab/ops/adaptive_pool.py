"""Adaptive pooling: average and maximum over PyTorch's adaptive bins.

Bin ``i`` of ``O`` over a length ``n`` runs from ``floor(i n / O)`` to
``ceil((i + 1) n / O)``, so bins may overlap. Average pooling is two small matmuls with
bin-averaging matrices; max pooling gathers each bin's (clipped) window.
"""

from __future__ import annotations

from cnnlab.autograd import Function, Tensor
from cnnlab.backend import get_array_module
from cnnlab.ops.pool import _batched, _unbatch

__all__ = ["AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d"]


def _bins(n, o):
    """PyTorch's adaptive bins: start = floor(i * n / o), end = ceil((i + 1) * n / o)."""
    return [(i * n) // o for i in range(o)], [-(-(i + 1) * n // o) for i in range(o)]


def _bin_matrix(xp, n, o, dtype):
    """(o, n) averaging matrix: row i holds 1/len over bin i."""
    m = xp.zeros((o, n), dtype=dtype)
    for i, (a, b) in enumerate(zip(*_bins(n, o))):
        m[i, a:b] = 1.0 / (b - a)
    return m


class AdaptiveAvgPool2d(Function):
    @staticmethod
    def forward(x, *, output_size):
        xp = get_array_module(x)
        if tuple(output_size) == (1, 1):
            return x.mean(axis=(2, 3), keepdims=True), (None, None, x.shape)
        ph = _bin_matrix(xp, x.shape[2], output_size[0], x.dtype)
        pw = _bin_matrix(xp, x.shape[3], output_size[1], x.dtype)
        return xp.matmul(xp.matmul(ph, x), pw.T), (ph, pw, x.shape)

    # dL/dx = Ph^T g Pw (global: g / (H W) everywhere)
    @staticmethod
    def backward(ctx, g):
        ph, pw, shape = ctx
        xp = get_array_module(g)
        if ph is None:
            return (xp.broadcast_to(g / (shape[2] * shape[3]), shape),)
        return (xp.matmul(xp.matmul(ph.T, g), pw),)


class AdaptiveMaxPool2d(Function):
    @staticmethod
    def forward(x, *, output_size):
        xp = get_array_module(x)
        n, c, h, w = x.shape
        sel = []
        for size, o in zip((h, w), output_size):
            start, end = (xp.asarray(v) for v in _bins(size, o))
            pos = start[:, None] + xp.arange(int((end - start).max()))[None, :]  # (o, span)
            sel.append((start, xp.minimum(pos, size - 1), pos < end[:, None]))
        (sh, rh, vh), (sw, rw, vw) = sel
        win = x[:, :, rh][..., rw].transpose(0, 1, 2, 4, 3, 5)  # (N, C, OH, OW, KH, KW)
        valid = vh[:, None, :, None] & vw[None, :, None, :]
        win = xp.where(valid, win, -xp.inf).reshape(n, c, *output_size, -1)
        arg = win.argmax(axis=-1)  # first maximum in row-major bin order
        out = xp.take_along_axis(win, arg[..., None], axis=-1)[..., 0].astype(x.dtype)
        kw = rw.shape[1]
        indices = (sh[:, None] + arg // kw) * w + (sw[None, :] + arg % kw)
        return out, (indices.astype(xp.int64), x.shape)

    # dL/dx[argmax of each bin] += g (adaptive bins may overlap)
    @staticmethod
    def backward(ctx, g):
        idx, shape = ctx
        xp = get_array_module(g)
        n, c, h, w = shape
        pos = idx + (xp.arange(n * c, dtype=xp.int64) * (h * w)).reshape(n, c, 1, 1)
        gx = xp.zeros(n * c * h * w, dtype=g.dtype)
        xp.add.at(gx, pos.ravel(), g.ravel())
        return (gx.reshape(shape),)


def _adaptive_size(name, output_size, hw):
    size = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(size) != 2:
        raise ValueError(f"{name}: output_size must be an int or a pair, got {output_size!r}")
    size = tuple(hw[i] if v is None else int(v) for i, v in enumerate(size))
    if min(size) < 1 or min(hw) < 1:
        raise ValueError(f"{name}: output_size {size} and input size {tuple(hw)} must be positive")
    return size


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average over PyTorch's adaptive bins (``floor(i H / OH)`` to ``ceil((i + 1) H / OH)``).

    Shape: ``(N, C, H, W) -> (N, C, OH, OW)``; ``None`` in ``output_size`` keeps that size.
    """
    x, sq = _batched(input, "adaptive_avg_pool2d")
    size = _adaptive_size("adaptive_avg_pool2d", output_size, x.shape[2:])
    return _unbatch(AdaptiveAvgPool2d.apply(x, output_size=size), sq)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Maximum over PyTorch's adaptive bins; with ``return_indices`` also the flat indices.

    Shape: ``(N, C, H, W) -> (N, C, OH, OW)``; ``None`` in ``output_size`` keeps that size.
    """
    x, sq = _batched(input, "adaptive_max_pool2d")
    size = _adaptive_size("adaptive_max_pool2d", output_size, x.shape[2:])
    out, ctx = AdaptiveMaxPool2d.apply_with_ctx(x, output_size=size)
    if not return_indices:
        return _unbatch(out, sq)
    return _unbatch(out, sq), _unbatch(Tensor._make(ctx[0], False), sq)

"""conv2d on the cache-blocked, threaded im2col + GEMM engine (forward, dL/dx, dL/dW).

One batch chunk at a time, its columns ``(G, C/G * KH * KW, m * L)`` are built into a
reused buffer (long contiguous runs on the stride-1 path, see :mod:`.columns`) and
multiplied while still in cache; the batch is split over :mod:`cnnlab.threads`. Nothing
but ``x`` is kept for backward, which rebuilds the columns for ``dL/dW``. With stride 1
and enough input channels ``dL/dx`` is the full convolution of ``g`` with the flipped
kernel (the same fast path again); otherwise the columns of ``W^T g`` are added back chunk
by chunk (col2im).
"""

from __future__ import annotations

from cnnlab.backend import get_array_module
from cnnlab.kernels.numpy_fast.columns import (
    _chunk,
    _Columns,
    _layout,
    _pad_rows,
    _planes,
    _rows_view,
    _take,
    _weight_gemm,
    _workspace,
)
from cnnlab.kernels.windows import out_hw
from cnnlab.threads import parallel_for

__all__ = ["conv2d_backward_data", "conv2d_backward_weights", "conv2d_forward"]


def conv_chunked(x, w, b, pads: tuple, stride: tuple, dilation: tuple, groups: int):
    """Cross-correlation of NCHW ``x`` zero-padded by ``(top, bottom, left, right)`` with
    ``w (O, C/G, KH, KW)`` (+ bias ``b``), one batch chunk at a time, the batch split over
    :mod:`cnnlab.threads`. Returns ``(N, O, OH, OW)``."""
    xp = get_array_module(x)
    n, c = x.shape[:2]
    o, cg, kh, kw = w.shape
    oh, ow = out_hw(x.shape, (kh, kw), stride, pads, dilation)
    y = xp.empty((n, o, oh, ow), dtype=x.dtype)
    wg = _pad_rows(w.reshape(groups, o // groups, -1))
    rows = wg.shape[1] * groups

    def part(p0: int, p1: int) -> None:
        cols = _Columns(x[p0:p1], pads, (kh, kw), stride, dilation, groups)
        ybuf = _workspace(xp, "out", (rows * cols.nb * cols.size,), x.dtype)
        for n0 in range(p0, p1, cols.nb):
            n1 = min(p1, n0 + cols.nb)
            m = n1 - n0
            yb = _take(ybuf, (groups, rows // groups, m * cols.size))
            xp.matmul(wg, cols(n0 - p0, n1 - p0), out=yb)
            if rows != o:  # drop the padding rows
                yb = yb[:, : o // groups]
            ys = y[n0:n1]
            ys[...] = _rows_view(yb, m, o, oh, ow, cols.row, cols.size)
            if b is not None:
                ys += b.reshape(1, -1, 1, 1)

    parallel_for(n, part, work=n * c * kh * kw * oh * ow, arrays=(x, w))
    return y


def conv_chunked_weight_grad(x, g, pads, kernel: tuple, stride, dilation, groups: int):
    """``dL/dW = sum over the batch of g · cols^T`` for :func:`conv_chunked`, chunk by chunk
    (each thread sums its part of the batch; the parts are added in a fixed order)."""
    xp = get_array_module(x)
    n, c = x.shape[:2]
    o, oh, ow = g.shape[1:]

    def part(p0: int, p1: int):
        cols = _Columns(x[p0:p1], pads, kernel, stride, dilation, groups)
        gbuf = _workspace(xp, "grad", (o * cols.nb * cols.size,), g.dtype, zero=True)
        gw = None
        for n0 in range(p0, p1, cols.nb):
            n1 = min(p1, n0 + cols.nb)
            m = n1 - n0
            gb = _take(gbuf, (groups, o // groups, m * cols.size))
            if m != cols.nb:  # a short last chunk: fresh zeros so its junk columns are zero
                gb = xp.zeros_like(gb)
            _rows_view(gb, m, o, oh, ow, cols.row, cols.size)[...] = g[n0:n1]
            # (cols · g^T)^T: OpenBLAS runs the K x O product 1.3-2.7x faster than the
            # O x K one on these long-inner-dimension shapes (benchmarks/README.md)
            prod = _weight_gemm(cols(n0 - p0, n1 - p0), gb, m)
            gw = prod if gw is None else gw.__iadd__(prod)
        return gw

    parts = parallel_for(n, part, work=n * c * kernel[0] * kernel[1] * oh * ow, arrays=(x, g))
    gw = parts[0]
    for more in parts[1:]:
        gw += more
    return xp.ascontiguousarray(gw.swapaxes(1, 2)).reshape(o, c // groups, *kernel)


def conv_chunked_input_grad(g, w, x_shape: tuple, pads, stride: tuple, dilation, groups: int):
    """``dL/dx = crop(col2im(W^T · g))`` for :func:`conv_chunked`, chunk by chunk: each
    chunk's columns are added back one kernel offset at a time while they sit in cache."""
    xp = get_array_module(g)
    n, c, h, wd = x_shape
    o, cg, kh, kw = w.shape
    (t, _, l, _), (sh, sw), (dh, dw) = pads, stride, dilation
    oh, ow = g.shape[2:]
    unit, hp, wp, plane, row, size = _layout((h, wd), pads, (kh, kw), stride, dilation, (oh, ow))
    k = cg * kh * kw
    # W^T with its rows in (kh, kw, c) order, so that each kernel offset's block of W^T · g
    # is one contiguous (C, m, L) slab, added into a channel-major (C, m, Hp * Wp) buffer in
    # the same order (the adds no longer cross the channel and batch axes; ~25% faster)
    wt = w.transpose(0, 2, 3, 1).reshape(groups, o // groups, k).swapaxes(1, 2)
    wt = xp.ascontiguousarray(wt)
    gx = xp.empty(x_shape, dtype=g.dtype)

    def part(p0: int, p1: int) -> None:
        nb = _chunk(p1 - p0, c * kh * kw * size * g.itemsize)
        gbuf = _workspace(xp, "grad", (o * nb * size,), g.dtype, zero=True)
        dbuf = _workspace(xp, "dcols", (c * kh * kw * nb * size,), g.dtype)
        acc_buf = _workspace(xp, "acc", (c * nb * plane,), g.dtype)
        for n0 in range(p0, p1, nb):
            n1 = min(p1, n0 + nb)
            m = n1 - n0
            gb = _take(gbuf, (groups, o // groups, m * size))
            if m != nb:  # a short last chunk: fresh zeros so its junk columns are zero
                gb = xp.zeros_like(gb)
            _rows_view(gb, m, o, oh, ow, row, size)[...] = g[n0:n1]
            d = _take(dbuf, (groups, k, m * size))
            xp.matmul(wt, gb, out=d)
            acc = _take(acc_buf, (c, m, plane))
            acc[...] = 0
            if unit:  # one contiguous run per kernel offset and image (junk columns are zero)
                d = d.reshape(groups, kh, kw, cg, m, size)
                flat = acc.reshape(groups, cg, m, plane)
                for i in range(kh):
                    for j in range(kw):
                        start = i * dh * wp + j * dw
                        flat[..., start : start + size] += d[:, i, j]
            else:
                d = d.reshape(groups, kh, kw, cg, m, oh, ow)
                grid = acc.reshape(groups, cg, m, hp, wp)  # (plane == hp * wp here)
                for i in range(kh):
                    for j in range(kw):
                        rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
                        cols = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
                        grid[..., rows, cols] += d[:, i, j]
            gx[n0:n1] = _planes(acc, hp, wp)[:, :, t : t + h, l : l + wd].swapaxes(0, 1)

    parallel_for(n, part, work=n * c * kh * kw * oh * ow, arrays=(g, w))
    return gx


# ------------------------------------------------------------------------- the function set
def _flipped_transpose(w, groups: int):
    """``(O, C/G, KH, KW)`` -> ``(C, O/G, KH, KW)`` with the kernel rotated by 180 degrees:
    the weight whose full convolution with ``g`` is conv2d's input gradient."""
    xp = get_array_module(w)
    o, cg, kh, kw = w.shape
    wt = w.reshape(groups, o // groups, cg, kh, kw).swapaxes(1, 2)[..., ::-1, ::-1]
    return xp.ascontiguousarray(wt).reshape(groups * cg, o // groups, kh, kw)


def conv2d_forward(x, w, b, *, stride, padding, dilation, groups: int):
    """Cross-correlation, bias added.

    Shape: x (N, C, H, W), w (O, C/G, KH, KW), b (O,) or None -> (N, O, OH, OW)."""
    return conv_chunked(x, w, b, tuple(padding), tuple(stride), tuple(dilation), groups)


def conv2d_backward_data(gy, w, *, x_shape, stride, padding, dilation, groups: int):
    """``dL/dx``. Shape: gy (N, O, OH, OW), w (O, C/G, KH, KW) -> ``x_shape``."""
    stride, dilation, kernel = tuple(stride), tuple(dilation), w.shape[2:]
    t, b, l, r = padding
    span = [d * (k - 1) for d, k in zip(dilation, kernel)]
    gpads = (span[0] - t, span[0] - b, span[1] - l, span[1] - r)
    # the flipped convolution needs stride 1, padding within the kernel's span and enough
    # input channels (few make it a skinny GEMM); else scatter the columns back
    if stride == (1, 1) and min(gpads) >= 0 and x_shape[1] // groups >= 16:
        wf = _flipped_transpose(w, groups)
        return conv_chunked(gy, wf, None, gpads, stride, dilation, groups)
    return conv_chunked_input_grad(gy, w, tuple(x_shape), tuple(padding), stride, dilation, groups)


def conv2d_backward_weights(x, gy, *, w_shape, stride, padding, dilation, groups: int, bias):
    """``(dL/dW, dL/db or None)``. Shape: x (N, C, H, W), gy (N, O, OH, OW) -> ``w_shape``, (O,)."""
    gw = conv_chunked_weight_grad(
        x, gy, tuple(padding), tuple(w_shape[2:]), tuple(stride), tuple(dilation), groups
    )
    return gw, (gy.sum(axis=(0, 2, 3)) if bias else None)

"""Sliding windows shared by convolution and pooling: strided views, col2im, output sizes,
and the cache-blocked im2col + GEMM engine behind conv2d (forward, dL/dW, dL/dx).

No per-pixel Python loops: windows are zero-copy strided views, and col2im adds back one
kernel offset at a time (kh * kw vectorised slice additions).
"""

from __future__ import annotations

import math
import threading

from cnnlab.backend import get_array_module
from cnnlab.threads import parallel_for


def pair(v, name: str = "value") -> tuple:
    """``3 -> (3, 3)``; ``(3, 5) -> (3, 5)``."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


def out_size(
    size: int,
    kernel: int,
    stride: int,
    pad_lo: int,
    pad_hi: int,
    dilation: int,
    ceil_mode: bool = False,
) -> int:
    """Output length of a sliding window (PyTorch's formula, including ceil_mode's rule that
    the last window must start inside the input or the left padding)."""
    span = dilation * (kernel - 1) + 1
    num = size + pad_lo + pad_hi - span
    if ceil_mode:
        n = math.ceil(num / stride) + 1
        if (n - 1) * stride >= size + pad_lo:
            n -= 1
        return n
    return num // stride + 1


def windows(x, kernel: tuple, stride: tuple, dilation: tuple, out_hw: tuple):
    """Zero-copy view of shape ``(N, C, OH, OW, KH, KW)`` over an (already padded) NCHW x."""
    xp = get_array_module(x)
    n, c, _, _ = x.shape
    sn, sc, sh, sw = x.strides
    kh, kw = kernel
    oh, ow = out_hw
    return xp.lib.stride_tricks.as_strided(
        x,
        shape=(n, c, oh, ow, kh, kw),
        strides=(sn, sc, sh * stride[0], sw * stride[1], sh * dilation[0], sw * dilation[1]),
        writeable=False,
    )


def col2im(cols, padded_shape: tuple, stride: tuple, dilation: tuple):
    """Adjoint of :func:`windows`: add ``cols`` (N, C, OH, OW, KH, KW) back into an array of
    ``padded_shape``, one kernel offset at a time, so overlapping windows add."""
    xp = get_array_module(cols)
    n, c, oh, ow, kh, kw = cols.shape
    out = xp.zeros(padded_shape, dtype=cols.dtype)
    sh, sw = stride
    dh, dw = dilation
    for i in range(kh):
        hi = i * dh
        for j in range(kw):
            wj = j * dw
            out[:, :, hi : hi + sh * (oh - 1) + 1 : sh, wj : wj + sw * (ow - 1) + 1 : sw] += cols[
                :, :, :, :, i, j
            ]
    return out


# ------------------------------------------------------------- cache-blocked im2col + GEMM
# The columns of a whole batch are 9x (3x3) the input: building them in memory and reading
# them back in the GEMM is bound by memory bandwidth, and a GEMM with few output channels
# over such a long matrix runs at about half of BLAS's peak. So the convolution
# runs one batch chunk at a time: pad the chunk into a small buffer, copy its columns
# (long contiguous runs), multiply, and move on while both still sit in cache.
_CHUNK_BYTES = 1 << 21


def _chunk(n: int, per_sample: int) -> int:
    return max(1, min(n, _CHUNK_BYTES // max(per_sample, 1)))


class _Workspaces(threading.local):
    def __init__(self) -> None:
        self.bufs: dict = {}


_workspaces = _Workspaces()


def _workspace(xp, slot: str, shape: tuple, dtype, zero: bool = False):
    """A scratch array of ``shape`` kept per thread between calls (a fresh large allocation
    costs page faults on every call); never returned to callers, only read in place."""
    size = math.prod(shape)
    if size * xp.dtype(dtype).itemsize > 4 * _CHUNK_BYTES:  # too big to keep around
        return (xp.zeros if zero else xp.empty)(shape, dtype=dtype)
    key = (slot, xp.dtype(dtype).str, xp.__name__)
    buf = _workspaces.bufs.get(key)
    if buf is None or buf.size < size:
        buf = _workspaces.bufs[key] = xp.empty(size, dtype=dtype)
    out = buf[:size].reshape(shape)
    if zero:
        out.fill(0)
    return out


def _take(buf, shape: tuple):
    """A contiguous array of ``shape`` at the start of the flat workspace ``buf``."""
    return buf[: math.prod(shape)].reshape(shape)


def _out_hw(x_shape: tuple, pads: tuple, kernel: tuple, stride: tuple, dilation: tuple):
    h, w = x_shape[2:]
    t, b, l, r = pads
    return (
        out_size(h, kernel[0], stride[0], t, b, dilation[0]),
        out_size(w, kernel[1], stride[1], l, r, dilation[1]),
    )


class _Columns:
    """Columns ``(G, C/G * KH * KW, m * L)`` of batch chunks of a (to-be-padded) NCHW ``x``.

    With stride 1 the windows of one kernel offset in one image are a single run of the
    flattened image, so output rows lie ``Wp`` apart (``L = (OH-1) * Wp + OW``; the
    ``Wp - OW`` columns that wrap round a row end are junk) and the copy moves long
    contiguous runs. Otherwise ``L = OH * OW`` from the strided window view.
    """

    def __init__(self, x, pads: tuple, kernel: tuple, stride: tuple, dilation: tuple, groups):
        xp = get_array_module(x)
        n, c, h, w = x.shape
        t, b, l, r = pads
        self.x, self.pads, self.kernel, self.groups = x, pads, kernel, groups
        self.stride, self.dilation = stride, dilation
        self.oh, self.ow = _out_hw(x.shape, pads, kernel, stride, dilation)
        self.unit, self.hp, self.wp, self.plane, self.row, self.size = _layout(
            (h, w), pads, kernel, stride, dilation, (self.oh, self.ow)
        )
        self.k = c * kernel[0] * kernel[1] // groups
        self.nb = _chunk(n, self.k * groups * self.size * x.itemsize)
        padded = t or b or l or r
        pad_shape = (self.nb, c, self.plane)
        self.pad_buf = _workspace(xp, "pad", pad_shape, x.dtype, zero=True) if padded else None
        self.buf = _workspace(xp, "cols", (self.k * groups * self.nb * self.size,), x.dtype)

    def __call__(self, n0: int, n1: int):
        xp = get_array_module(self.x)
        m, (t, _, l, _) = n1 - n0, self.pads
        c, h, w = self.x.shape[1:]
        if self.pad_buf is None:
            xs = xp.ascontiguousarray(self.x[n0:n1])
        else:
            xs = self.pad_buf[:m]
            _planes(xs, self.hp, self.wp)[:, :, t : t + h, l : l + w] = self.x[n0:n1]
        if self.kernel == (1, 1) and self.unit and m == 1:
            return xs.reshape(self.groups, self.k, self.size)
        (kh, kw), (dh, dw), (sh, sw) = self.kernel, self.dilation, self.stride
        sn, sc = xs.strides[0] // xs.itemsize, xs.strides[1] // xs.itemsize
        if self.unit:
            shape = (c, kh, kw, m, self.size)
            strides = (sc, dh * self.wp, dw, sn, 1)
        else:
            shape = (c, kh, kw, m, self.oh, self.ow)
            strides = (sc, dh * self.wp, dw, sn, sh * self.wp, sw)
        view = xp.lib.stride_tricks.as_strided(xs, shape, tuple(s * xs.itemsize for s in strides))
        cols = _take(self.buf, shape)
        cols[...] = view
        return cols.reshape(self.groups, self.k, m * self.size)


def _shared_pad(pads: tuple, kernel: tuple, dilation: tuple) -> int:
    """Zero columns that a row's right padding and the next row's left padding can share.

    In the stride-1 layout the image is read as one flat run, so the columns read past a
    row's end wrap into the next row's left padding: a padded row need only be
    ``W + l + r - s`` wide (with ``s`` more zeros after the last row). ``s`` is at most
    ``min(l, r)`` (the wrapped reads must land in zeros) and the kernel span minus one (the
    output columns must fit in a row). Fewer junk columns: a 3x3, padding-1 convolution
    on 8x8 maps computes 71 columns per image instead of 78 (64 real), i.e. ~10% less
    GEMM work and copying; 5% at 16x16, 3% at 32x32.
    """
    _, _, l, r = pads
    return max(0, min(l, r, dilation[1] * (kernel[1] - 1)))


def _layout(hw: tuple, pads: tuple, kernel: tuple, stride: tuple, dilation: tuple, out_hw):
    """Geometry of a chunk's padded images and of its columns: ``(unit, hp, wp, plane, row,
    size)``: stride 1 or not; padded height and row width (rows share padding columns at
    stride 1); a padded image's length; the distance between output rows in the columns;
    and the columns per image (``L``)."""
    (h, w), (t, b, l, r), (oh, ow) = hw, pads, out_hw
    unit = tuple(stride) == (1, 1)
    shared = _shared_pad(pads, kernel, dilation) if unit else 0
    hp, wp = h + t + b, w + l + r - shared
    row = wp if unit else ow
    return unit, hp, wp, hp * wp + shared, row, (oh - 1) * row + ow


def _planes(a, hp: int, wp: int):
    """View the ``(..., hp * wp + s)`` planes of a padded buffer as ``(..., hp, wp)``."""
    return a[..., : hp * wp].reshape(*a.shape[:-1], hp, wp)


def _rows_view(a, m: int, o: int, oh: int, ow: int, row: int, size: int):
    """View ``(O, m * L)`` as ``(m, O, OH, OW)`` (sample ``i`` at columns ``[i*L, (i+1)*L)``);
    ``a`` may be a slice of rows of a larger such array."""
    xp = get_array_module(a)
    lead = a.strides[-2] // a.itemsize  # m * L, or more when a is a slice of rows
    st = (size, lead, row, 1)
    return xp.lib.stride_tricks.as_strided(a, (m, o, oh, ow), tuple(s * a.itemsize for s in st))


def _matmul_small_out(a, b):
    """``a @ b`` for stacks ``(G, M, K) @ (G, K, N)`` whose product is small (a weight
    gradient). ``np.matmul`` keeps the GIL when the output has under 500 elements, so
    LeNet-5's 25 x 6 dL/dW held up the other threads for its whole GEMM (two threads ran
    no faster than one); ``np.dot`` lets go of the GIL around BLAS whatever the size."""
    xp = get_array_module(a)
    if a.shape[0] != 1:
        return xp.matmul(a, b)
    return xp.dot(a[0], b[0])[None]


def _weight_gemm(cols, gb, m: int):
    """``cols · gb^T`` of shapes ``(G, K, m * L)`` and ``(G, O, m * L)``: dL/dW of one chunk.

    For a small K x O (at most 1,024: LeNet-5's 25 x 6, a first conv's 27 x 16) OpenBLAS
    runs one product over the long m * L dimension at 20-40 GFLOP/s; m per-image products
    (inner dimension L) summed afterwards run 1.5-3x faster (benchmarks/README.md).
    """
    g, k, cols_n = cols.shape
    o = gb.shape[1]
    if g != 1 or k * o > 1024 or m == 1:
        return _matmul_small_out(cols, gb.swapaxes(1, 2))
    size = cols_n // m
    per_image = cols[0].reshape(k, m, size).transpose(1, 0, 2)  # (m, K, L) views
    grads = gb[0].reshape(o, m, size).transpose(1, 2, 0)  # (m, L, O)
    return get_array_module(cols).matmul(per_image, grads).sum(axis=0)[None]


def _pad_rows(wg):
    """``(G, M, K)`` weights with ``M`` padded by zero rows to a multiple of 8: OpenBLAS
    runs a GEMM with a ragged row count (LeNet-5's 6 filters) at half speed or worse, so
    (6 x 25) . (25 x P) takes longer than (8 x 25) . (25 x P)."""
    xp = get_array_module(wg)
    g, m, k = wg.shape
    if g != 1 or m <= 1 or m % 8 == 0 or m > 64:  # (grouped: the rows view needs G = 1)
        return wg
    out = xp.zeros((g, -(-m // 8) * 8, k), dtype=wg.dtype)
    out[:, :m] = wg
    return out


def conv_chunked(x, w, b, pads: tuple, stride: tuple, dilation: tuple, groups: int):
    """Cross-correlation of NCHW ``x`` zero-padded by ``(top, bottom, left, right)`` with
    ``w (O, C/G, KH, KW)`` (+ bias ``b``), one batch chunk at a time, the batch split over
    :mod:`cnnlab.threads`. Returns ``(N, O, OH, OW)``."""
    xp = get_array_module(x)
    n, c = x.shape[:2]
    o, cg, kh, kw = w.shape
    oh, ow = _out_hw(x.shape, pads, (kh, kw), stride, dilation)
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

"""The columns of the cache-blocked conv2d engine, batch chunk by batch chunk, and the
GEMM shapes OpenBLAS runs fastest on.

Workspaces are kept per thread between calls: a fresh large allocation costs page faults
on every call.
"""

from __future__ import annotations

import math
import threading

from cnnlab.backend import get_array_module
from cnnlab.kernels.windows import out_hw

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
        self.oh, self.ow = out_hw(x.shape, kernel, stride, pads, dilation)
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

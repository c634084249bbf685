"""Max and average pooling, separably and threaded: no per-window Python loops.

Max pooling runs a first-maximum scan over the kernel offsets, separably: along W within
each row, then across the rows (the first maximum in row-major window order lies in the
first row holding the maximum, at that row's first maximum). Each step is one vectorised
comparison over strided slices. Its backward scatters the gradient through the stored
argmax with one flat index write (``add.at`` where windows overlap). Average pooling sums
slices separably too. ``padding`` is (top, bottom, left, right).
"""

from __future__ import annotations

from cnnlab.backend import get_array_module
from cnnlab.kernels.windows import out_hw, pad
from cnnlab.threads import split_batch

__all__ = [
    "avg_pool2d_backward",
    "avg_pool2d_forward",
    "max_pool2d_backward",
    "max_pool2d_forward",
    "max_pool2d_indices",
    "max_pool2d_inference",
]


def _geometry(x_shape, kernel, stride, padding, dilation, ceil_mode):
    """Output size, the extent the windows read (from the padded origin) and the padded
    extent to allocate (the windows' reach, at least the input and its top/left padding)."""
    o = out_hw(x_shape, kernel, stride, padding, dilation, ceil_mode)
    need = tuple((o[i] - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 for i in range(2))
    t, _, l, _ = padding
    h, w = x_shape[2:]
    return o, need, (max(need[0], h + t), max(need[1], w + l))


def _offsets(k, s, d, o):
    """Slice along one axis for each kernel offset: the elements those windows read."""
    return [slice(i * d, i * d + s * (o - 1) + 1, s) for i in range(k)]


def _arg_dtype(xp, k):
    return xp.int8 if k[0] * k[1] <= 127 else xp.int32


def _max_scan(xpad, k, s, d, o, out, arg) -> None:
    """Window maxima of the padded ``xpad`` into ``out`` and, unless ``arg`` is None, the
    row-major offset of each window's first maximum into ``arg``."""
    xp = get_array_module(xpad)
    rows, cols = _offsets(k[0], s[0], d[0], o[0]), _offsets(k[1], s[1], d[1], o[1])
    kdt = _arg_dtype(xp, k)
    need_arg = arg is not None
    # first maximum along W in every row (strict > keeps the earliest) ...
    m1 = xpad[..., cols[0]]
    c1 = xp.zeros(m1.shape, dtype=kdt) if need_arg else None
    for j in range(1, k[1]):
        v = xpad[..., cols[j]]
        if need_arg:  # arg += (v > max) * (j - arg): branch-free, unlike where()
            c1 = c1 + (v > m1) * (kdt(j) - c1)
        m1 = xp.maximum(m1, v)
    # ... then the first row holding the window's maximum: arg = row * kw + col
    best = m1[:, :, rows[0]]
    a = c1[:, :, rows[0]] if need_arg else None
    for i in range(1, k[0]):
        v = m1[:, :, rows[i]]
        if need_arg:
            a = a + (v > best) * (c1[:, :, rows[i]] + kdt(i * k[1]) - a)
        # the last row's maximum goes straight into ``out`` (no copy of the result)
        best = xp.maximum(best, v, out=out if i == k[0] - 1 else None)
    if k[0] == 1:
        out[...] = best
    if need_arg:
        arg[...] = a


def _max_pool(x, kernel, stride, padding, dilation, ceil_mode, need_arg):
    xp = get_array_module(x)
    k, s, d = tuple(kernel), tuple(stride), tuple(dilation)
    o, need, padded = _geometry(x.shape, k, s, padding, d, ceil_mode)
    out = xp.empty((*x.shape[:2], *o), dtype=x.dtype)
    arg = xp.empty(out.shape, dtype=_arg_dtype(xp, k)) if need_arg else None

    def part(i) -> None:
        xpad = pad(x[i], padding, -xp.inf, padded)[:, :, : need[0], : need[1]]
        _max_scan(xpad, k, s, d, o, out[i], None if arg is None else arg[i])

    split_batch(part, x)
    return out, (arg, x.shape, k, s, tuple(padding), d, o, padded)


def max_pool2d_forward(x, *, kernel, stride, padding, dilation, ceil_mode: bool):
    """``(y, state)``: window maxima and the argmax backward needs. Shape: (N, C, H, W) ->
    (N, C, OH, OW)."""
    return _max_pool(x, kernel, stride, padding, dilation, ceil_mode, True)


def max_pool2d_inference(x, *, kernel, stride, padding, dilation, ceil_mode: bool):
    """The window maxima only (no argmax scan)."""
    return _max_pool(x, kernel, stride, padding, dilation, ceil_mode, False)[0]


def _window_index(xp, k, s, d, o, lo, width):
    """Flat index of window (oh, ow)'s first element and of each offset (row-major)."""
    base = (
        (xp.arange(o[0]) * s[0] - lo[0])[:, None] * width
        + (xp.arange(o[1]) * s[1] - lo[1])[None, :]
    ).astype(xp.int64)
    table = ((xp.arange(k[0]) * d[0] * width)[:, None] + xp.arange(k[1]) * d[1]).ravel()
    return base, table.astype(xp.int64)


def max_pool2d_indices(state):
    """PyTorch's indices: the flat position in its ``H * W`` plane of each window's maximum."""
    arg, shape, k, s, (t, _, l, _), d, o, _ = state
    xp = get_array_module(arg)
    base, table = _window_index(xp, k, s, d, o, (t, l), shape[3])
    return base + table[arg]


def _scatter(g, pos, size, overlapping):
    """A zeros vector of ``size`` with ``g`` added at the flat positions ``pos``."""
    xp = get_array_module(g)
    out = xp.zeros(size, dtype=g.dtype)
    if overlapping:
        xp.add.at(out, pos.ravel(), g.ravel())
    else:  # positions are distinct: a plain write
        out[pos.ravel()] = g.ravel()
    return out


def _crop(gp, t, l, shape):
    if gp.shape[-2:] == tuple(shape[-2:]):
        return gp
    return gp[:, :, t : t + shape[2], l : l + shape[3]]


# dL/dx[argmax of each window] += g (overlapping windows add)
def max_pool2d_backward(gy, state):
    """``dL/dx``. Shape: (N, C, OH, OW) -> (N, C, H, W)."""
    arg, shape, k, s, (t, _, l, _), d, o, padded = state
    xp = get_array_module(gy)
    n, c = shape[:2]
    if padded == tuple(shape[2:]) and s == k and d == (1, 1):
        # non-overlapping windows tile the input: write each offset's share in place
        gx = xp.empty((n, c, o[0], k[0], o[1], k[1]), dtype=gy.dtype)

        def part(b) -> None:
            for i in range(k[0]):
                for j in range(k[1]):
                    xp.multiply(arg[b] == i * k[1] + j, gy[b], out=gx[b, :, :, i, :, j])

        split_batch(part, gx)
        gx = gx.reshape(n, c, o[0] * k[0], o[1] * k[1])
        if gx.shape == shape:
            return gx
        full = xp.zeros(shape, dtype=gy.dtype)
        full[:, :, : gx.shape[2], : gx.shape[3]] = gx
        return full
    base, table = _window_index(xp, k, s, d, o, (0, 0), padded[1])
    plane = padded[0] * padded[1]
    pos = table[arg] + base + (xp.arange(n * c, dtype=xp.int64) * plane).reshape(n, c, 1, 1)
    overlapping = s[0] < (k[0] - 1) * d[0] + 1 or s[1] < (k[1] - 1) * d[1] + 1
    gp = _scatter(gy, pos, n * c * plane, overlapping)
    return _crop(gp.reshape(n, c, *padded), t, l, shape)


# ----------------------------------------------------------------------------- average
def _sum_slices(parts):
    acc = parts[0] + parts[1] if len(parts) > 1 else parts[0].copy()
    for a in parts[2:]:
        acc += a
    return acc


def _divisor(xp, x_shape, k, s, padding, o, count_include_pad, divisor_override, dtype):
    """PyTorch's divisor per window: clipped at input + padding, or to the input."""
    if divisor_override is not None:
        return xp.asarray(divisor_override, dtype=dtype)
    sizes = []
    for i in range(2):
        n, lo, hi = x_shape[2 + i], padding[2 * i], padding[2 * i + 1]
        start = xp.arange(o[i]) * s[i] - lo
        end = xp.minimum(start + k[i], n + hi)
        if not count_include_pad:
            start, end = xp.maximum(start, 0), xp.minimum(end, n)
        sizes.append(end - start)
    return (sizes[0][:, None] * sizes[1][None, :]).astype(dtype)


def avg_pool2d_forward(
    x, *, kernel, stride, padding, ceil_mode: bool, count_include_pad: bool, divisor_override=None
):
    """Window sums over their divisors. Shape: (N, C, H, W) -> (N, C, OH, OW)."""
    xp = get_array_module(x)
    k, s = tuple(kernel), tuple(stride)
    o, need, padded = _geometry(x.shape, k, s, padding, (1, 1), ceil_mode)
    div = _divisor(xp, x.shape, k, s, padding, o, count_include_pad, divisor_override, x.dtype)
    xpad = pad(x, padding, 0.0, padded)[:, :, : need[0], : need[1]]
    t = _sum_slices([xpad[..., sl] for sl in _offsets(k[1], s[1], 1, o[1])])
    out = _sum_slices([t[:, :, sl] for sl in _offsets(k[0], s[0], 1, o[0])])
    out /= div
    return out


# dL/dx = sum over the windows covering x of g / divisor
def avg_pool2d_backward(
    gy,
    *,
    x_shape,
    kernel,
    stride,
    padding,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override=None,
):
    """``dL/dx``. Shape: (N, C, OH, OW) -> ``x_shape``."""
    xp = get_array_module(gy)
    k, s, shape = tuple(kernel), tuple(stride), tuple(x_shape)
    n, c = shape[:2]
    o, _, padded = _geometry(shape, k, s, padding, (1, 1), ceil_mode)
    div = _divisor(xp, shape, k, s, padding, o, count_include_pad, divisor_override, gy.dtype)
    gd = gy / div
    if padded == shape[2:] and s == k:
        spread = xp.broadcast_to(gd[:, :, :, None, :, None], (n, c, o[0], k[0], o[1], k[1]))
        spread = spread.reshape(n, c, o[0] * k[0], o[1] * k[1])
        if spread.shape == shape:
            return spread
        gx = xp.zeros(shape, dtype=gy.dtype)
        gx[:, :, : spread.shape[2], : spread.shape[3]] = spread
        return gx
    t = xp.zeros((n, c, padded[0], o[1]), dtype=gy.dtype)
    for sl in _offsets(k[0], s[0], 1, o[0]):
        t[:, :, sl] += gd
    gp = xp.zeros((n, c, *padded), dtype=gy.dtype)
    for sl in _offsets(k[1], s[1], 1, o[1]):
        gp[..., sl] += t
    return _crop(gp, padding[0], padding[2], shape)

"""Pooling: max (with PyTorch's flat indices), unpooling, average and adaptive pooling.

No per-pixel Python loops. Max pooling runs a first-maximum scan over the kernel offsets,
separably: along W within each row, then across the rows (the first maximum in row-major
window order lies in the first row holding the maximum, at that row's first maximum). Each
step is one vectorised comparison over strided slices. Its backward scatters the gradient
through the stored argmax with one flat index write (``add.at`` where windows overlap).
Average pooling sums slices separably too; adaptive average pooling is two small matmuls.

3-D ``(C, H, W)`` inputs are accepted, as in PyTorch, and give 3-D outputs.
"""

from __future__ import annotations

from cnnlab.autograd import Function, Tensor, is_grad_enabled
from cnnlab.backend import get_array_module
from cnnlab.ops.windows import out_size, pair
from cnnlab.threads import split_batch

__all__ = [
    "MaxPool2d",
    "MaxUnpool2d",
    "AvgPool2d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "max_pool2d",
    "max_unpool2d",
    "avg_pool2d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
]


# ----------------------------------------------------------------------------- helpers
def _geometry(name, shape, kernel, stride, padding, dilation, ceil_mode):
    """Kernel/stride/padding/dilation pairs, output size and the padded extent to allocate."""
    k = pair(kernel, "kernel_size")
    s = k if stride is None or (isinstance(stride, (tuple, list)) and not stride) else stride
    s, p, d = pair(s, "stride"), pair(padding, "padding"), pair(dilation, "dilation")
    if min(k) < 1 or min(s) < 1 or min(d) < 1:
        raise ValueError(
            f"{name}: kernel_size, stride and dilation must be positive, got "
            f"kernel_size={k}, stride={s}, dilation={d}"
        )
    if min(p) < 0 or p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(
            f"{name}: pad should be at most half of effective kernel size, but got "
            f"pad={p}, kernel_size={k} and dilation={d}"
        )
    h, w = shape[-2:]
    o = tuple(out_size(n, k[i], s[i], p[i], p[i], d[i], ceil_mode) for i, n in enumerate((h, w)))
    if min(o) < 1:
        raise ValueError(
            f"{name}: input size {tuple(shape[1:])} gives output size "
            f"{(shape[1], *o)}, which is too small"
        )
    need = tuple((o[i] - 1) * s[i] + (k[i] - 1) * d[i] + 1 for i in range(2))
    padded = (max(need[0], h + p[0]), max(need[1], w + p[1]))
    return k, s, p, d, o, need, padded


def _pad(x, p, padded, value):
    """``x`` placed at offset ``p`` in a ``padded``-sized plane filled with ``value``."""
    xp = get_array_module(x)
    n, c, h, w = x.shape
    if padded == (h, w):
        return x
    out = xp.full((n, c, *padded), value, dtype=x.dtype)
    out[:, :, p[0] : p[0] + h, p[1] : p[1] + w] = x
    return out


def _offsets(k, s, d, o):
    """Slice along one axis for each kernel offset: the elements those windows read."""
    return [slice(i * d, i * d + s * (o - 1) + 1, s) for i in range(k)]


def _crop(gp, p, shape):
    if gp.shape[-2:] == tuple(shape[-2:]):
        return gp
    return gp[:, :, p[0] : p[0] + shape[2], p[1] : p[1] + shape[3]]


def _scatter(g, pos, size, overlapping):
    """A zeros vector of ``size`` with ``g`` added at the flat positions ``pos``."""
    xp = get_array_module(g)
    out = xp.zeros(size, dtype=g.dtype)
    if overlapping:
        xp.add.at(out, pos.ravel(), g.ravel())
    else:  # positions are distinct: a plain write
        out[pos.ravel()] = g.ravel()
    return out


def _plane_offsets(xp, n, c, plane):
    return (xp.arange(n * c, dtype=xp.int64) * plane).reshape(n, c, 1, 1)


def _window_index(xp, k, s, d, o, lo, width):
    """Flat index of window (oh, ow)'s first element and of each offset (row-major)."""
    base = (
        (xp.arange(o[0]) * s[0] - lo[0])[:, None] * width
        + (xp.arange(o[1]) * s[1] - lo[1])[None, :]
    ).astype(xp.int64)
    table = ((xp.arange(k[0]) * d[0] * width)[:, None] + xp.arange(k[1]) * d[1]).ravel()
    return base, table.astype(xp.int64)


# ----------------------------------------------------------------------------- max pooling
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


class MaxPool2d(Function):
    @staticmethod
    def forward(
        x,
        *,
        kernel_size,
        stride=None,
        padding=0,
        dilation=1,
        ceil_mode=False,
        return_indices=False,
        need_arg=True,
    ):
        xp = get_array_module(x)
        k, s, p, d, o, need, padded = _geometry(
            "max_pool2d", x.shape, kernel_size, stride, padding, dilation, ceil_mode
        )
        out = xp.empty((*x.shape[:2], *o), dtype=x.dtype)
        arg = xp.empty(out.shape, dtype=_arg_dtype(xp, k)) if need_arg else None

        def part(i) -> None:
            xpad = _pad(x[i], p, padded, -xp.inf)[:, :, : need[0], : need[1]]
            _max_scan(xpad, k, s, d, o, out[i], None if arg is None else arg[i])

        split_batch(part, x)
        indices = None
        if return_indices:  # (functional callers pass need_arg=False only without it)
            base, table = _window_index(xp, k, s, d, o, p, x.shape[3])
            indices = base + table[arg]
        return out, (arg, x.shape, k, s, p, d, o, padded, indices)

    # dL/dx[argmax of each window] += g (overlapping windows add)
    @staticmethod
    def backward(ctx, g):
        arg, shape, k, s, p, d, o, padded, _ = ctx
        xp = get_array_module(g)
        n, c = shape[:2]
        if padded == tuple(shape[2:]) and s == k and d == (1, 1):
            # non-overlapping windows tile the input: write each offset's share in place
            gx = xp.empty((n, c, o[0], k[0], o[1], k[1]), dtype=g.dtype)

            def part(b) -> None:
                for i in range(k[0]):
                    for j in range(k[1]):
                        xp.multiply(arg[b] == i * k[1] + j, g[b], out=gx[b, :, :, i, :, j])

            split_batch(part, gx)
            gx = gx.reshape(n, c, o[0] * k[0], o[1] * k[1])
            if gx.shape == shape:
                return (gx,)
            full = xp.zeros(shape, dtype=g.dtype)
            full[:, :, : gx.shape[2], : gx.shape[3]] = gx
            return (full,)
        base, table = _window_index(xp, k, s, d, o, (0, 0), padded[1])
        pos = table[arg] + base + _plane_offsets(xp, n, c, padded[0] * padded[1])
        overlapping = s[0] < (k[0] - 1) * d[0] + 1 or s[1] < (k[1] - 1) * d[1] + 1
        gp = _scatter(g, pos, n * c * padded[0] * padded[1], overlapping)
        return (_crop(gp.reshape(n, c, *padded), p, shape),)


class MaxUnpool2d(Function):
    @staticmethod
    def forward(x, indices, *, output_size):
        xp = get_array_module(x)
        n, c = x.shape[:2]
        if indices.shape != x.shape:
            raise ValueError(
                f"max_unpool2d: indices shape {tuple(indices.shape)} must equal "
                f"input shape {tuple(x.shape)}"
            )
        plane = output_size[0] * output_size[1]
        idx = indices.reshape(n * c, -1).astype(xp.int64, copy=False)
        if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= plane):
            raise ValueError(
                f"max_unpool2d: found an invalid max index (outside [0, {plane}) "
                f"for output size {tuple(output_size)})"
            )
        out = xp.zeros((n * c, plane), dtype=x.dtype)
        xp.put_along_axis(out, idx, x.reshape(n * c, -1), axis=1)
        return out.reshape(n, c, *output_size), (idx, x.shape)

    # dL/dx = g gathered at the switches (indices); none for the indices
    @staticmethod
    def backward(ctx, g):
        idx, shape = ctx
        xp = get_array_module(g)
        gx = xp.take_along_axis(g.reshape(idx.shape[0], -1), idx, axis=1)
        return gx.reshape(shape), None


# ----------------------------------------------------------------------------- average pooling
def _sum_slices(parts):
    acc = parts[0] + parts[1] if len(parts) > 1 else parts[0].copy()
    for a in parts[2:]:
        acc += a
    return acc


def _divisor_1d(xp, n, k, s, p, o, count_include_pad):
    """PyTorch's per-axis window size: clipped at input + padding, or to the input."""
    start = xp.arange(o) * s - p
    end = xp.minimum(start + k, n + p)
    if count_include_pad:
        return end - start
    return xp.minimum(end, n) - xp.maximum(start, 0)


class AvgPool2d(Function):
    @staticmethod
    def forward(
        x,
        *,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
    ):
        xp = get_array_module(x)
        k, s, p, _, o, need, padded = _geometry(
            "avg_pool2d", x.shape, kernel_size, stride, padding, 1, ceil_mode
        )
        if divisor_override is not None:
            if divisor_override == 0:
                raise ValueError("avg_pool2d: divisor_override must be non-zero, got 0")
            div = xp.asarray(divisor_override, dtype=x.dtype)
        else:
            dh, dw = (
                _divisor_1d(xp, x.shape[2 + i], k[i], s[i], p[i], o[i], count_include_pad)
                for i in range(2)
            )
            div = (dh[:, None] * dw[None, :]).astype(x.dtype)
        xpad = _pad(x, p, padded, 0)[:, :, : need[0], : need[1]]
        t = _sum_slices([xpad[..., sl] for sl in _offsets(k[1], s[1], 1, o[1])])
        out = _sum_slices([t[:, :, sl] for sl in _offsets(k[0], s[0], 1, o[0])])
        out /= div
        return out, (div, x.shape, k, s, p, o, padded)

    # dL/dx = sum over the windows covering x of g / divisor
    @staticmethod
    def backward(ctx, g):
        div, shape, k, s, p, o, padded = ctx
        xp = get_array_module(g)
        n, c = shape[:2]
        gd = g / div
        if padded == tuple(shape[2:]) and s == k:
            spread = xp.broadcast_to(gd[:, :, :, None, :, None], (n, c, o[0], k[0], o[1], k[1]))
            spread = spread.reshape(n, c, o[0] * k[0], o[1] * k[1])
            if spread.shape == shape:
                return (spread,)
            gx = xp.zeros(shape, dtype=g.dtype)
            gx[:, :, : spread.shape[2], : spread.shape[3]] = spread
            return (gx,)
        t = xp.zeros((n, c, padded[0], o[1]), dtype=g.dtype)
        for sl in _offsets(k[0], s[0], 1, o[0]):
            t[:, :, sl] += gd
        gp = xp.zeros((n, c, *padded), dtype=g.dtype)
        for sl in _offsets(k[1], s[1], 1, o[1]):
            gp[..., sl] += t
        return (_crop(gp, p, shape),)


# ----------------------------------------------------------------------------- adaptive pooling
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
        pos = idx + _plane_offsets(xp, n, c, h * w)
        return (_scatter(g, pos, n * c * h * w, True).reshape(shape),)


# ----------------------------------------------------------------------------- functional API
def _batched(x, name):
    """4-D input as is, 3-D (C, H, W) with a batch axis of 1 added; else ValueError."""
    if x.ndim == 4:
        return x, False
    if x.ndim == 3:
        return x.reshape((1, *x.shape)), True
    raise ValueError(
        f"{name}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {tuple(x.shape)}"
    )


def _unbatch(t, squeeze):
    return t.reshape(t.shape[1:]) if squeeze else t


def max_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """2-D max pooling, as ``torch.nn.functional.max_pool2d`` (padding is -inf).

    Shape: ``(N, C, H, W) -> (N, C, OH, OW)`` (or 3-D without N), with
    ``OH = floor((H + 2p - d (k - 1) - 1) / s) + 1`` (ceil with ``ceil_mode``). With
    ``return_indices`` also the int64 flat index of each maximum in its ``H * W`` plane.
    """
    x, sq = _batched(input, "max_pool2d")
    out, ctx = MaxPool2d.apply_with_ctx(
        x,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        return_indices=return_indices,
        need_arg=return_indices or (is_grad_enabled() and getattr(x, "requires_grad", False)),
    )
    if not return_indices:
        return _unbatch(out, sq)
    return _unbatch(out, sq), _unbatch(Tensor._make(ctx[-1], False), sq)


def max_unpool2d(
    input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """Partial inverse of :func:`max_pool2d`: each value goes back to its index, zeros elsewhere.

    Shape: ``(N, C, H, W) -> (N, C, OH, OW)``, ``OH = (H - 1) s - 2p + k`` unless
    ``output_size`` (``(OH, OW)`` or a full shape) says otherwise, within ``+-s`` of that.
    """
    x, sq = _batched(input, "max_unpool2d")
    idx, _ = _batched(indices, "max_unpool2d")
    k = pair(kernel_size, "kernel_size")
    s = pair(k if stride is None else stride, "stride")
    p = pair(padding, "padding")
    default = tuple((x.shape[2 + i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(2))
    size = default
    if output_size is not None:
        size = tuple(int(v) for v in tuple(output_size)[-2:])
        for i in range(2):
            lo, hi = default[i] - s[i], default[i] + s[i]
            if not lo < size[i] < hi:
                raise ValueError(
                    f'max_unpool2d: invalid output_size "{tuple(output_size)}" '
                    f"(dim {i} must be between {lo} and {hi}, exclusive)"
                )
    return _unbatch(MaxUnpool2d.apply(x, idx, output_size=size), sq)


def avg_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override=None,
) -> Tensor:
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d`` (same divisor rules).

    Shape: ``(N, C, H, W) -> (N, C, OH, OW)``, ``OH = floor((H + 2p - k) / s) + 1``
    (ceil with ``ceil_mode``); 3-D input without N works too.
    """
    x, sq = _batched(input, "avg_pool2d")
    out = AvgPool2d.apply(
        x,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
        divisor_override=divisor_override,
    )
    return _unbatch(out, sq)


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

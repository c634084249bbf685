"""Convolutions as im2col + GEMM: conv2d, conv1d (a composite over conv2d), conv_transpose2d.

conv2d runs on :mod:`cnnlab.ops.windows`'s cache-blocked engine: one batch chunk at a time,
its columns ``(G, C/G * KH * KW, m * L)`` are built into a reused buffer (long contiguous
runs on the stride-1 path) and multiplied while still in cache; nothing but ``x`` is kept
for backward, which rebuilds the columns for ``dL/dW``. With stride 1 and enough input
channels ``dL/dx`` is the full convolution of ``g`` with the flipped kernel (the same fast
path again); otherwise the columns of ``W^T g`` are added back chunk by chunk (col2im).

conv_transpose2d uses the whole-batch helpers below: its forward is conv2d's input gradient
(col2im of ``W^T g``) and its input gradient is conv2d's forward."""

from __future__ import annotations

from cnnlab.autograd import Function, Tensor
from cnnlab.backend import get_array_module
from cnnlab.ops.shape import Reshape
from cnnlab.ops.windows import (
    col2im,
    conv_chunked,
    conv_chunked_input_grad,
    conv_chunked_weight_grad,
    windows,
)

__all__ = ["Conv2d", "ConvTranspose2d", "conv1d", "conv2d", "conv_transpose2d"]


# ----------------------------------------------------------------------------- GEMM helpers
def _pad(x, pads: tuple):
    """Zero-pad H and W by ``(top, bottom, left, right)`` (one allocation, one copy)."""
    t, b, l, r = pads
    if not (t or b or l or r):
        return x
    xp = get_array_module(x)
    n, c, h, w = x.shape
    out = xp.zeros((n, c, h + t + b, w + l + r), dtype=x.dtype)
    out[:, :, t : t + h, l : l + w] = x
    return out


def _row(padded_w: int, stride: tuple, ow: int) -> int:
    """Distance between output rows in the columns: ``Wp`` on the stride-1 path, else OW."""
    return padded_w if tuple(stride) == (1, 1) else ow


def _strided(a, shape: tuple, strides: tuple):
    """``as_strided`` with strides counted in elements."""
    xp = get_array_module(a)
    return xp.lib.stride_tricks.as_strided(a, shape, tuple(s * a.itemsize for s in strides))


def _grid_view(a, n: int, out_hw: tuple, row: int):
    """View an ``(O, N * L)`` array as ``(N, O, OH, OW)``: sample ``n`` at columns
    ``[n*L, (n+1)*L)``, output rows ``row`` apart (``L = (OH-1)*row + OW``)."""
    (oh, ow), size = out_hw, (out_hw[0] - 1) * row + out_hw[1]
    return _strided(a, (n, a.shape[0], oh, ow), (size, n * size, row, 1))


def _to_grid(g, row: int):
    """``(N, O, OH, OW)`` -> contiguous ``(O, N * L)``, zeros in the junk columns."""
    xp = get_array_module(g)
    n, o, oh, ow = g.shape
    size = (oh - 1) * row + ow
    out = (xp.empty if row == ow else xp.zeros)((o, n * size), dtype=g.dtype)
    _grid_view(out, n, (oh, ow), row)[...] = g
    return out


def _im2col(xpad, kernel: tuple, stride: tuple, dilation: tuple, out_hw: tuple, groups: int):
    """Contiguous columns ``(G, C/G * KH * KW, N * L)`` of a padded NCHW array.

    With stride 1 the windows of one kernel offset in one image are a single run of the
    flattened image (``L = (OH-1) * Wp + OW``; the ``Wp - OW`` columns that wrap round a row
    end are junk, skipped by :func:`_grid_view`), so the copy moves long contiguous runs.
    Otherwise ``L = OH * OW`` from the strided window view.
    """
    xp = get_array_module(xpad)
    n, c, _, wp = xpad.shape
    (kh, kw), (oh, ow) = kernel, out_hw
    if tuple(stride) == (1, 1):
        xpad = xp.ascontiguousarray(xpad)
        sn, sc = xpad.strides[0] // xpad.itemsize, xpad.strides[1] // xpad.itemsize
        size = (oh - 1) * wp + ow
        shape = (c, kh, kw, n, size)
        view = _strided(xpad, shape, (sc, dilation[0] * wp, dilation[1], sn, 1))
    else:
        view = windows(xpad, kernel, stride, dilation, out_hw).transpose(1, 4, 5, 0, 2, 3)
    return xp.ascontiguousarray(view).reshape(groups, (c // groups) * kh * kw, -1)


def _conv_gemm(xpad, w, stride: tuple, dilation: tuple, out_hw: tuple, groups: int):
    """Cross-correlation of a padded input as one GEMM per group: ``(y (N, O, OH, OW), cols)``."""
    xp = get_array_module(xpad)
    o = w.shape[0]
    cols = _im2col(xpad, w.shape[2:], stride, dilation, out_hw, groups)
    y = (w.reshape(groups, o // groups, -1) @ cols).reshape(o, -1)  # (O, N * L)
    row = _row(xpad.shape[3], stride, out_hw[1])
    return xp.ascontiguousarray(_grid_view(y, xpad.shape[0], out_hw, row)), cols


def _weight_grad(g2, cols, w_shape: tuple, groups: int):
    """``g · cols^T`` from the gridded gradient ``g2 (O, N * L)``; shape ``w_shape``."""
    o = g2.shape[0]
    return (g2.reshape(groups, o // groups, -1) @ cols.swapaxes(1, 2)).reshape(w_shape)


def _cols_to_image(g2, w, padded_shape: tuple, out_hw: tuple, stride, dilation, groups: int):
    """``col2im(W^T · g)`` from the gridded gradient ``g2 (O, N * L)``: the gradient with
    respect to the padded input."""
    xp = get_array_module(g2)
    n, c, hp, wp = padded_shape
    o, (kh, kw) = w.shape[0], w.shape[2:]
    wt = xp.ascontiguousarray(w.reshape(groups, o // groups, -1).swapaxes(1, 2))
    dcols = (wt @ g2.reshape(groups, o // groups, -1)).reshape(c, kh, kw, n, -1)
    if tuple(stride) != (1, 1):
        dcols = dcols.reshape((c, kh, kw, n) + tuple(out_hw)).transpose(3, 0, 4, 5, 1, 2)
        return col2im(dcols, padded_shape, stride, dilation)
    out = xp.zeros((n, c, hp * wp), dtype=dcols.dtype)
    size = dcols.shape[-1]
    for i in range(kh):  # the stride-1 col2im: one contiguous run per kernel offset and image
        for j in range(kw):
            start = i * dilation[0] * wp + j * dilation[1]
            out[:, :, start : start + size] += dcols[:, i, j].swapaxes(0, 1)
    return out.reshape(padded_shape)


def _promote(*arrays):
    """Cast to the widest floating dtype among the arrays (float32 + float64 -> float64)."""
    xp = get_array_module(*[a for a in arrays if a is not None])
    dt = xp.result_type(*[a.dtype for a in arrays if a is not None])
    return [None if a is None else a.astype(dt, copy=False) for a in arrays]


# ------------------------------------------------------------------------------------- ops
def _flipped_transpose(w, groups: int):
    """``(O, C/G, KH, KW)`` -> ``(C, O/G, KH, KW)`` with the kernel rotated by 180 degrees:
    the weight whose full convolution with ``g`` is conv2d's input gradient."""
    xp = get_array_module(w)
    o, cg, kh, kw = w.shape
    wt = w.reshape(groups, o // groups, cg, kh, kw).swapaxes(1, 2)[..., ::-1, ::-1]
    return xp.ascontiguousarray(wt).reshape(groups * cg, o // groups, kh, kw)


class Conv2d(Function):
    @staticmethod
    def forward(x, w, b, *, stride, padding, dilation, groups, input_grad=True):
        x, w, b = _promote(x, w, b)
        stride, dilation = tuple(stride), tuple(dilation)
        y = conv_chunked(x, w, b, padding, stride, dilation, groups)
        # backward rebuilds the columns chunk by chunk from x (alive in the graph anyway)
        ctx = (x, w if input_grad else None, w.shape, padding, stride, dilation, groups)
        return y, (ctx, b is not None)

    # dL/dW = g · cols^T;  dL/db = sum of g over N, H, W;  dL/dx = crop(col2im(W^T · g)),
    # which for stride 1 is the full convolution of g with the flipped kernel
    @staticmethod
    def backward(ctx, g):
        (x, w, w_shape, pads, stride, dilation, groups), has_b = ctx
        gb = g.sum(axis=(0, 2, 3)) if has_b else None
        gw = conv_chunked_weight_grad(x, g, pads, w_shape[2:], stride, dilation, groups)
        if w is None:
            return None, gw, gb
        span = [d * (k - 1) for d, k in zip(dilation, w_shape[2:])]
        gpads = (span[0] - pads[0], span[0] - pads[1], span[1] - pads[2], span[1] - pads[3])
        # the flipped convolution needs stride 1, padding within the kernel's span and enough
        # input channels (few make it a skinny GEMM); else scatter the columns back
        if stride == (1, 1) and min(gpads) >= 0 and x.shape[1] // groups >= 16:
            wf = _flipped_transpose(w, groups)
            return conv_chunked(g, wf, None, gpads, stride, dilation, groups), gw, gb
        gx = conv_chunked_input_grad(g, w, x.shape, pads, stride, dilation, groups)
        return gx, gw, gb


class ConvTranspose2d(Function):
    @staticmethod
    def forward(x, w, b, *, stride, padding, output_padding, dilation, groups):
        xp = get_array_module(x)
        x, w, b = _promote(x, w, b)
        n, _, h, wd = x.shape
        kh, kw = w.shape[2:]
        hp = (h - 1) * stride[0] + dilation[0] * (kh - 1) + 1 + output_padding[0]
        wp = (wd - 1) * stride[1] + dilation[1] * (kw - 1) + 1 + output_padding[1]
        padded_shape = (n, w.shape[1] * groups, hp, wp)
        x2 = _to_grid(x, _row(wp, stride, wd))
        ypad = _cols_to_image(x2, w, padded_shape, (h, wd), stride, dilation, groups)
        (ph, pw) = padding
        y = ypad[:, :, ph : hp - ph, pw : wp - pw]
        y = y + b.reshape(1, -1, 1, 1) if b is not None else xp.ascontiguousarray(y)
        return y, (x2, x.shape, w, padding, stride, dilation, groups, b is not None)

    # dL/dx = conv2d(pad(g), W);  dL/dW = x · im2col(pad(g))^T;  dL/db = sum of g over N, H, W
    @staticmethod
    def backward(ctx, g):
        x2, x_shape, w, (ph, pw), stride, dilation, groups, has_b = ctx
        gpad = _pad(g, (ph, ph, pw, pw))
        gx, cols = _conv_gemm(gpad, w, stride, dilation, x_shape[2:], groups)
        gw = _weight_grad(x2, cols, w.shape, groups)
        gb = g.sum(axis=(0, 2, 3)) if has_b else None
        return gx, gw, gb


# ------------------------------------------------------------------------- argument checks
def _tuple(v, k: int, name: str, what: str) -> tuple:
    t = (v,) * k if isinstance(v, int) else tuple(v) if isinstance(v, (tuple, list)) else None
    if t is None or len(t) != k or not all(isinstance(i, int) for i in t):
        raise ValueError(f"{name}: {what} must be an int or a tuple of {k} ints, got {v!r}")
    return t


def _conv_args(name: str, x, w, b, stride, padding, dilation, groups, transposed=False):
    """Validate shapes and normalise arguments. Returns ``(stride, pads, dilation)`` with one
    entry per spatial dim (``pads`` as ``(lo, hi)`` pairs)."""
    k = 1 if name == "conv1d" else 2
    dims = "(N, C, L)" if k == 1 else "(N, C, H, W)"
    if x.ndim != k + 2:
        raise ValueError(f"{name}: expected a {k + 2}-D input {dims}, got shape {tuple(x.shape)}")
    if w.ndim != k + 2:
        raise ValueError(f"{name}: expected a {k + 2}-D weight, got shape {tuple(w.shape)}")
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{name}: groups must be a positive int, got {groups!r}")
    c, o = (w.shape[0], w.shape[1] * groups) if transposed else (w.shape[1] * groups, w.shape[0])
    if x.shape[1] != c:
        raise ValueError(
            f"{name}: expected input with {c} channels (weight {tuple(w.shape)}, "
            f"groups={groups}), got {x.shape[1]} channels (input {tuple(x.shape)})"
        )
    if c % groups or o % groups:
        raise ValueError(
            f"{name}: in_channels ({c}) and out_channels ({o}) must both be "
            f"divisible by groups ({groups})"
        )
    if b is not None and tuple(b.shape) != (o,):
        raise ValueError(f"{name}: expected bias of shape ({o},), got {tuple(b.shape)}")
    stride = _tuple(stride, k, name, "stride")
    dilation = _tuple(dilation, k, name, "dilation")
    if min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"{name}: stride and dilation must be >= 1, got {stride}, {dilation}")
    kernel = tuple(w.shape[2:])
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(
                f"{name}: padding must be 'same', 'valid', an int or a tuple, got {padding!r}"
            )
        if padding == "same" and max(stride) != 1:
            raise ValueError(f"{name}: padding='same' needs stride 1, got stride {stride}")
        span = [d * (kk - 1) if padding == "same" else 0 for d, kk in zip(dilation, kernel)]
        pads = tuple((s // 2, s - s // 2) for s in span)  # PyTorch puts the odd one at the end
    else:
        pads = tuple((p, p) for p in _tuple(padding, k, name, "padding"))
        if min(p for p, _ in pads) < 0:
            raise ValueError(f"{name}: padding must be >= 0, got {padding!r}")
    if not transposed:
        size = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], pads))
        span = tuple(d * (kk - 1) + 1 for d, kk in zip(dilation, kernel))
        if any(s < kk for s, kk in zip(size, span)):
            raise ValueError(
                f"{name}: dilated kernel size {span} is bigger than the padded input size {size}"
            )
    return stride, pads, dilation


def _needs_grad(x) -> bool:
    return isinstance(x, Tensor) and x.requires_grad


# ------------------------------------------------------------------------------ public API
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """2-D cross-correlation, ``torch.nn.functional.conv2d``.

    ``padding``: int, pair, ``'valid'`` or ``'same'`` (stride 1; an odd total padding puts the
    extra row/column at the bottom/right, as PyTorch does). Mixed float32/float64 inputs
    compute in float64.

    Shape: x ``(N, C, H, W)``, weight ``(O, C/groups, KH, KW)``, bias ``(O,)`` ->
    ``(N, O, OH, OW)`` with ``OH = (H + pad_top + pad_bottom - dilation*(KH-1) - 1)//stride + 1``.
    """
    stride, pads, dilation = _conv_args(
        "conv2d", x, weight, bias, stride, padding, dilation, groups
    )
    return Conv2d.apply(
        x,
        weight,
        bias,
        stride=stride,
        padding=pads[0] + pads[1],
        dilation=dilation,
        groups=groups,
        input_grad=_needs_grad(x),
    )


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """1-D cross-correlation, ``torch.nn.functional.conv1d`` (conv2d on a height-1 image).

    Shape: x ``(N, C, L)``, weight ``(O, C/groups, K)``, bias ``(O,)`` -> ``(N, O, L_out)``.
    """
    (s,), ((lo, hi),), (d,) = _conv_args(
        "conv1d", x, weight, bias, stride, padding, dilation, groups
    )
    x4 = Reshape.apply(x, shape=(x.shape[0], x.shape[1], 1, x.shape[2]))
    w4 = Reshape.apply(weight, shape=(weight.shape[0], weight.shape[1], 1, weight.shape[2]))
    y = Conv2d.apply(
        x4,
        w4,
        bias,
        stride=(1, s),
        padding=(0, 0, lo, hi),
        dilation=(1, d),
        groups=groups,
        input_grad=_needs_grad(x),
    )
    return Reshape.apply(y, shape=(y.shape[0], y.shape[1], y.shape[3]))


def conv_transpose2d(
    x, weight, bias=None, stride=1, padding=0, output_padding=0, groups: int = 1, dilation=1
) -> Tensor:
    """Transposed 2-D convolution, ``torch.nn.functional.conv_transpose2d``: the gradient of
    conv2d with respect to its input.

    Shape: x ``(N, C_in, H, W)``, weight ``(C_in, C_out/groups, KH, KW)``, bias ``(C_out,)`` ->
    ``(N, C_out, OH, OW)`` with
    ``OH = (H-1)*stride - 2*padding + dilation*(KH-1) + output_padding + 1``.
    """
    name = "conv_transpose2d"
    if isinstance(padding, str):
        raise ValueError(f"{name}: padding must be an int or a pair, got {padding!r}")
    stride, pads, dilation = _conv_args(
        name, x, weight, bias, stride, padding, dilation, groups, transposed=True
    )
    out_pad = _tuple(output_padding, 2, name, "output_padding")
    for op, s, d in zip(out_pad, stride, dilation):
        if op < 0 or (op >= s and op >= d):
            raise ValueError(
                f"{name}: output_padding must be smaller than either stride or "
                f"dilation, got output_padding={out_pad}, stride={stride}, "
                f"dilation={dilation}"
            )
    out_hw = [
        (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        for n, s, (p, _), d, k, op in zip(
            x.shape[2:], stride, pads, dilation, weight.shape[2:], out_pad
        )
    ]
    if min(out_hw) < 1:
        raise ValueError(
            f"{name}: output size {tuple(out_hw)} is too small (input "
            f"{tuple(x.shape)}, padding {tuple(p for p, _ in pads)})"
        )
    return ConvTranspose2d.apply(
        x,
        weight,
        bias,
        stride=stride,
        padding=tuple(p for p, _ in pads),
        output_padding=out_pad,
        dilation=dilation,
        groups=groups,
    )

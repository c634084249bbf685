"""Convolutions: conv2d, conv1d (conv2d on a height-1 image) and conv_transpose2d.

The contract. ``x (N, C, H, W)``, weight ``W (O, C/G, KH, KW)``, bias ``b (O,)``, ``G``
groups, stride ``s``, dilation ``d``, zero padding (top, bottom, left, right)::

    y[n, o, i, j] = b[o] + sum over c in o's group, u < KH, v < KW of
                    W[o, c, u, v] * xpad[n, c, i*s + u*d, j*s + v*d]

Gathering each output's window into a column (im2col: ``cols[n]`` of shape
``(C/G * KH * KW, OH * OW)`` per group) makes it one matrix product, ``y[n] = W · cols[n]``.
Its two gradients, with ``g = dL/dy``:

- ``dL/dW = sum over n of g[n] · cols[n]^T`` (each weight meets every pixel it multiplied),
  and ``dL/db = sum of g over N, OH, OW``;
- ``dL/dcols[n] = W^T · g[n]``, and since each column entry is an input pixel seen through
  one window, ``dL/dx`` adds the windows' shares back: ``col2im(W^T · g)``, the padding
  cropped off. (At stride 1 that is the full convolution of ``g`` with the flipped kernel.)

conv_transpose2d is, by definition, conv2d's input gradient: its forward is
``conv2d_backward_data`` and its own input gradient is conv2d's forward, so it runs on the
same kernels. The arithmetic lives in :mod:`cnnlab.kernels`: ``reference`` is the textbook
im2col version of exactly these formulas; ``numpy`` and ``onednn`` are the fast ones.
"""

from __future__ import annotations

from cnnlab import kernels
from cnnlab.autograd import Function, Tensor
from cnnlab.backend import get_array_module
from cnnlab.ops.shape import Reshape

__all__ = ["Conv2d", "ConvTranspose2d", "conv1d", "conv2d", "conv_transpose2d"]


def _promote(*arrays):
    """Cast to the widest floating dtype among the arrays (float32 + float64 -> float64)."""
    xp = get_array_module(*[a for a in arrays if a is not None])
    dt = xp.result_type(*[a.dtype for a in arrays if a is not None])
    return [None if a is None else a.astype(dt, copy=False) for a in arrays]


class Conv2d(Function):
    takes_needs_input_grad = True

    # padding: (top, bottom, left, right)
    @staticmethod
    def forward(x, w, b, *, stride, padding, dilation, groups, needs_input_grad=(True,) * 3):
        x, w, b = _promote(x, w, b)
        geo = {
            "stride": tuple(stride),
            "padding": tuple(padding),
            "dilation": tuple(dilation),
            "groups": groups,
        }
        y = kernels.conv2d_forward(x, w, b, **geo)
        need_x, need_w, need_b = needs_input_grad
        # dL/dx needs W, dL/dW needs x: keep only what the asked-for gradients need
        ctx = (x if need_w else None, w if need_x else None, x.shape, w.shape, geo, need_b)
        return y, ctx

    # dL/dx = crop(col2im(W^T · g));  dL/dW = sum_n g[n] · cols[n]^T;  dL/db = sum of g
    @staticmethod
    def backward(ctx, g):
        x, w, x_shape, w_shape, geo, need_b = ctx
        gx = None if w is None else kernels.conv2d_backward_data(g, w, x_shape=x_shape, **geo)
        if x is not None:
            gw, gb = kernels.conv2d_backward_weights(x, g, w_shape=w_shape, bias=need_b, **geo)
        else:
            gw, gb = None, (g.sum(axis=(0, 2, 3)) if need_b else None)
        return gx, gw, gb


def _transposed_geometry(x_shape, w_shape, stride, padding, output_padding, dilation):
    """The conv2d whose input gradient conv_transpose2d is: that conv's input shape
    ``(OH', OW')``, its padding and the zero rows/columns to add at the bottom/right.

    The output ``OH = (H-1)*s - 2p + d*(KH-1) + output_padding + 1`` is the input of a
    conv2d padded ``p`` on top and ``p - output_padding`` at the bottom (which gives back
    exactly ``H`` rows). Where that bottom padding is negative, the last rows are read by no
    window: the conv's input stops short of them and they are zeros (plus bias)."""
    out, pads, extra = [], [], []
    for i in range(2):
        n, k = x_shape[2 + i], w_shape[2 + i]
        s, p, op, d = stride[i], padding[i], output_padding[i], dilation[i]
        size = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        hi = p - op
        out.append(size + min(hi, 0))
        pads += [p, max(hi, 0)]
        extra.append(max(-hi, 0))
    return tuple(out), tuple(pads), tuple(extra)


class ConvTranspose2d(Function):
    takes_needs_input_grad = True

    # padding: (ph, pw), both sides
    @staticmethod
    def forward(
        x, w, b, *, stride, padding, output_padding, dilation, groups, needs_input_grad=(True,) * 3
    ):
        xp = get_array_module(x)
        x, w, b = _promote(x, w, b)
        (oh, ow), pads, (eh, ew) = _transposed_geometry(
            x.shape, w.shape, stride, padding, output_padding, dilation
        )
        geo = {
            "stride": tuple(stride),
            "padding": pads,
            "dilation": tuple(dilation),
            "groups": groups,
        }
        y_shape = (x.shape[0], w.shape[1] * groups, oh, ow)
        y = kernels.conv2d_backward_data(x, w, x_shape=y_shape, **geo)
        if eh or ew:
            full = xp.zeros((*y_shape[:2], oh + eh, ow + ew), dtype=y.dtype)
            full[:, :, :oh, :ow] = y
            y = full
        if b is not None:
            y = y + b.reshape(1, -1, 1, 1)
        need_x, need_w, need_b = needs_input_grad
        ctx = (
            x if need_w else None,
            w if need_x else None,
            x.shape,
            w.shape,
            geo,
            (oh, ow),
            need_b,
        )
        return y, ctx

    # y = conv2d's input gradient of x  =>  dL/dx = conv2d(g, W) (cropped to the conv's
    # input); dL/dW = conv2d's weight gradient with g as the input and x as the output
    # gradient; dL/db = sum of g over N, H, W
    @staticmethod
    def backward(ctx, g):
        x, w, x_shape, w_shape, geo, (oh, ow), need_b = ctx
        gc = g[:, :, :oh, :ow]
        gx = None if w is None else kernels.conv2d_forward(gc, w, None, **geo)
        gw = None
        if x is not None:
            gw, _ = kernels.conv2d_backward_weights(gc, x, w_shape=w_shape, bias=False, **geo)
        gb = g.sum(axis=(0, 2, 3)) if need_b else None
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

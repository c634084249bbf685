"""Max and average pooling by windows: a strided view ``(N, C, OH, OW, KH, KW)`` of the
padded input, reduced over its last two axes; the gradients go back through col2im.

``padding`` is (top, bottom, left, right). With ``ceil_mode`` the last window may reach
past the bottom/right padding: the input is padded far enough for every window.
"""

from __future__ import annotations

from cnnlab.backend import get_array_module
from cnnlab.kernels.windows import col2im, out_hw, pad, windows


def _extent(x_shape, kernel, stride, padding, dilation, o):
    """The padded (Hp, Wp) every window fits in."""
    h, w = x_shape[2:]
    t, b, l, r = padding
    need = [(o[i] - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 for i in range(2)]
    return max(need[0], h + t + b), max(need[1], w + l + r)


def _windows(x, kernel, stride, padding, dilation, ceil_mode, value):
    o = out_hw(x.shape, kernel, stride, padding, dilation, ceil_mode)
    ext = _extent(x.shape, kernel, stride, padding, dilation, o)
    return windows(pad(x, padding, value, ext), kernel, stride, dilation, o), ext


def max_pool2d_forward(x, *, kernel, stride, padding, dilation, ceil_mode: bool):
    """``(y, state)``: each window's maximum, and the state backward needs (the row-major
    offset of each window's first maximum). Shape: (N, C, H, W) -> (N, C, OH, OW)."""
    xp = get_array_module(x)
    win, ext = _windows(x, kernel, stride, padding, dilation, ceil_mode, -xp.inf)
    flat = win.reshape(*win.shape[:4], -1)  # (N, C, OH, OW, KH * KW)
    arg = flat.argmax(axis=-1)  # the first maximum, as PyTorch picks
    y = xp.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
    return y, (arg, x.shape, kernel, stride, padding, dilation, ext)


def max_pool2d_inference(x, *, kernel, stride, padding, dilation, ceil_mode: bool):
    """The maxima only (no state)."""
    xp = get_array_module(x)
    win, _ = _windows(x, kernel, stride, padding, dilation, ceil_mode, -xp.inf)
    return win.max(axis=(4, 5))


# dL/dx[the argmax of each window] += g: a one-hot of each window's argmax, times g,
# added back by col2im (overlapping windows add), then the padding cropped off
def max_pool2d_backward(gy, state):
    """``dL/dx``. Shape: (N, C, OH, OW) -> (N, C, H, W)."""
    xp = get_array_module(gy)
    arg, (n, c, h, w), (kh, kw), stride, (t, _, l, _), dilation, ext = state
    onehot = arg[..., None] == xp.arange(kh * kw)  # (N, C, OH, OW, KH * KW)
    cols = (onehot * gy[..., None]).reshape(*gy.shape, kh, kw)
    gpad = col2im(cols, (n, c, *ext), stride, dilation)
    return xp.ascontiguousarray(gpad[:, :, t : t + h, l : l + w])


def max_pool2d_indices(state):
    """PyTorch's indices: the flat position in its ``H * W`` plane of each window's maximum."""
    xp = get_array_module(state[0])
    arg, (_, _, _, w), (_, kw), (sh, sw), (t, _, l, _), (dh, dw), _ = state
    oh, ow = arg.shape[2:]
    row = (xp.arange(oh) * sh - t)[:, None] + (arg // kw) * dh
    col = (xp.arange(ow) * sw - l)[None, :] + (arg % kw) * dw
    return (row * w + col).astype(xp.int64)


def _divisor(xp, x_shape, kernel, stride, padding, o, count_include_pad, divisor_override):
    """PyTorch's window sizes ``(OH, OW)``: clipped at input + padding, or to the input."""
    if divisor_override is not None:
        return divisor_override
    sizes = []
    for i in range(2):
        n, k, s, lo, hi = x_shape[2 + i], kernel[i], stride[i], padding[2 * i], padding[2 * i + 1]
        start = xp.arange(o[i]) * s - lo
        end = xp.minimum(start + k, n + hi)
        if not count_include_pad:
            start, end = xp.maximum(start, 0), xp.minimum(end, n)
        sizes.append(end - start)
    return sizes[0][:, None] * sizes[1][None, :]


def avg_pool2d_forward(
    x, *, kernel, stride, padding, ceil_mode: bool, count_include_pad: bool, divisor_override=None
):
    """Each window's sum over its divisor. Shape: (N, C, H, W) -> (N, C, OH, OW)."""
    win, _ = _windows(x, kernel, stride, padding, (1, 1), ceil_mode, 0.0)
    div = _divisor(
        get_array_module(x),
        x.shape,
        kernel,
        stride,
        padding,
        win.shape[2:4],
        count_include_pad,
        divisor_override,
    )
    return (win.sum(axis=(4, 5)) / div).astype(x.dtype, copy=False)


# dL/dx[p] = sum over the windows covering p of g / divisor: spread g / divisor over each
# window and add back with col2im
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
    n, c, h, w = x_shape
    o = gy.shape[2:]
    ext = _extent(x_shape, kernel, stride, padding, (1, 1), o)
    div = _divisor(xp, x_shape, kernel, stride, padding, o, count_include_pad, divisor_override)
    share = (gy / div).astype(gy.dtype, copy=False)
    cols = xp.broadcast_to(share[..., None, None], (*gy.shape, *kernel))
    t, _, l, _ = padding
    gpad = col2im(cols, (n, c, *ext), stride, (1, 1))
    return xp.ascontiguousarray(gpad[:, :, t : t + h, l : l + w])

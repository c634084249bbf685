"""conv2d as im2col + one GEMM; its two gradients as one GEMM each (+ col2im for dL/dx).

With ``K = C/G * KH * KW`` and ``L = OH * OW``, the columns of image ``n`` are the
``(G, K, L)`` matrix whose column ``l`` holds the input values window ``l`` sees, and the
convolution is ``y[n] = W · cols[n]`` with ``W`` viewed as ``(G, O/G, K)``.
"""

from __future__ import annotations

from cnnlab.backend import get_array_module
from cnnlab.kernels.windows import col2im, out_hw, pad, windows


def im2col(x, kernel: tuple, *, stride, padding, dilation, groups: int):
    """Columns ``(N, G, C/G * KH * KW, OH * OW)`` of NCHW ``x`` (a copy of its windows)."""
    n, c = x.shape[:2]
    kh, kw = kernel
    oh, ow = out_hw(x.shape, kernel, stride, padding, dilation)
    view = windows(pad(x, padding), kernel, stride, dilation, (oh, ow))  # (N, C, OH, OW, KH, KW)
    cols = view.transpose(0, 1, 4, 5, 2, 3)  # (N, C, KH, KW, OH, OW): rows in (c, i, j) order
    return cols.reshape(n, groups, c // groups * kh * kw, oh * ow)


def conv2d_forward(x, w, b, *, stride, padding, dilation, groups: int):
    """``y[n] = W · cols[n] + b``. Shape: x (N, C, H, W), w (O, C/G, KH, KW) -> (N, O, OH, OW)."""
    o = w.shape[0]
    oh, ow = out_hw(x.shape, w.shape[2:], stride, padding, dilation)
    cols = im2col(x, w.shape[2:], stride=stride, padding=padding, dilation=dilation, groups=groups)
    y = w.reshape(groups, o // groups, -1) @ cols  # (N, G, O/G, L)
    y = y.reshape(x.shape[0], o, oh, ow)
    return y if b is None else y + b.reshape(1, o, 1, 1)


# y[n] = W · cols[n]  =>  dL/dcols[n] = W^T · g[n]; each column entry is one input pixel
# seen through one window, so dL/dx adds every window's share back: col2im (the adjoint of
# im2col), then the padding is cropped off
def conv2d_backward_data(gy, w, *, x_shape, stride, padding, dilation, groups: int):
    """``dL/dx = crop(col2im(W^T · g))``. Shape: gy (N, O, OH, OW) -> ``x_shape``."""
    xp = get_array_module(gy)
    n, c, h, wd = x_shape
    o, cg, kh, kw = w.shape
    oh, ow = gy.shape[2:]
    wt = w.reshape(groups, o // groups, cg * kh * kw).swapaxes(1, 2)  # (G, K, O/G)
    dcols = wt @ gy.reshape(n, groups, o // groups, oh * ow)  # (N, G, K, L)
    dcols = dcols.reshape(n, c, kh, kw, oh, ow).transpose(0, 1, 4, 5, 2, 3)
    t, b, l, r = padding
    gpad = col2im(dcols, (n, c, h + t + b, wd + l + r), stride, dilation)
    return xp.ascontiguousarray(gpad[:, :, t : t + h, l : l + wd])


# y[n] = W · cols[n] + b  =>  dL/dW = sum over n of g[n] · cols[n]^T;  dL/db = sum of g
# over N, OH, OW
def conv2d_backward_weights(x, gy, *, w_shape, stride, padding, dilation, groups: int, bias):
    """``(dL/dW, dL/db or None)``. Shape: x (N, C, H, W), gy (N, O, OH, OW) -> ``w_shape``, (O,)."""
    n, o = gy.shape[:2]
    cols = im2col(x, w_shape[2:], stride=stride, padding=padding, dilation=dilation, groups=groups)
    g = gy.reshape(n, groups, o // groups, -1)  # (N, G, O/G, L)
    gw = (g @ cols.swapaxes(2, 3)).sum(axis=0)  # (G, O/G, K)
    gb = gy.sum(axis=(0, 2, 3)) if bias else None
    return gw.reshape(w_shape), gb

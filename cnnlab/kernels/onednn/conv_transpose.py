"""Transposed 2-D convolution from the three convolution kernels (no second engine).

``conv_transpose2d(x, w)`` is the gradient of ``conv2d`` with respect to its input, so its
forward is conv backward-data, the gradient of its input is a conv forward, and the gradient
of its weights is conv backward-weights with the roles of image and output swapped. (oneDNN's
own deconvolution primitive does the same inside on CPU: it calls the convolution's
backward-data kernel.) ``padding`` is ``(top, left)``, symmetric, as PyTorch's;
``output_padding`` adds rows/columns at the bottom/right.
"""

from __future__ import annotations

import numpy as np

from cnnlab.kernels.onednn.conv import (
    conv2d_backward_data,
    conv2d_backward_weights,
    conv2d_forward,
)

__all__ = [
    "conv_transpose2d_backward_data",
    "conv_transpose2d_backward_weights",
    "conv_transpose2d_forward",
]


def _geometry(x_shape, w_shape, stride, padding, output_padding, dilation, groups):
    """The image shape of the equivalent convolution (the transposed conv's output) and its
    ``(top, bottom, left, right)`` padding."""
    n, _, h, w = x_shape
    out = [n, w_shape[1] * groups]
    pads = []
    for size, s, p, op, d, kk in zip(
        (h, w), stride, padding, output_padding, dilation, w_shape[2:]
    ):
        out.append((size - 1) * s - 2 * p + d * (kk - 1) + op + 1)
        # the conv from `out` back to `size` must floor away the op extra rows: its far
        # padding is p when op < s, else p - op + s - 1 (op < dilation allows op >= s)
        pads += [p, p if op < s else p - op + s - 1]
    return tuple(out), (pads[0], pads[1], pads[2], pads[3])


def conv_transpose2d_forward(
    x, w, b=None, *, stride, padding, output_padding, dilation, groups: int
) -> np.ndarray:
    """``torch.nn.functional.conv_transpose2d``: the input gradient of a conv2d.

    Shape: x ``(N, C_in, H, W)``, w ``(C_in, C_out/groups, KH, KW)``, b ``(C_out,)`` or None
    -> ``(N, C_out, OH, OW)``, ``OH = (H-1)*stride - 2*padding + dilation*(KH-1) +
    output_padding + 1``.
    """
    y_shape, pads = _geometry(x.shape, w.shape, stride, padding, output_padding, dilation, groups)
    y = conv2d_backward_data(
        x, w, x_shape=y_shape, stride=stride, padding=pads, dilation=dilation, groups=groups
    )
    if b is not None:
        y += b.reshape(1, -1, 1, 1)
    return y


def conv_transpose2d_backward_data(
    gy, w, *, stride, padding, output_padding, dilation, groups: int
) -> np.ndarray:
    """``dL/dx = conv2d(dL/dy, w)`` with the transposed conv's stride and padding.

    Shape: gy ``(N, C_out, OH, OW)`` -> ``(N, C_in, H, W)``.
    """
    x_shape = _input_shape(gy.shape, w.shape, stride, padding, output_padding, dilation)
    _, pads = _geometry(x_shape, w.shape, stride, padding, output_padding, dilation, groups)
    return conv2d_forward(
        gy, w, None, stride=stride, padding=pads, dilation=dilation, groups=groups
    )


def conv_transpose2d_backward_weights(
    x, gy, *, w_shape, stride, padding, output_padding, dilation, groups: int, bias: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """``dL/dw``: the conv weight gradient with dL/dy as the conv's image and x as its
    output gradient; ``dL/db = sum of dL/dy over N, OH, OW``.

    Shape: x ``(N, C_in, H, W)``, gy ``(N, C_out, OH, OW)`` -> gw ``w_shape``, gb ``(C_out,)``.
    """
    _, pads = _geometry(x.shape, w_shape, stride, padding, output_padding, dilation, groups)
    gw, _ = conv2d_backward_weights(
        gy,
        x,
        w_shape=w_shape,
        stride=stride,
        padding=pads,
        dilation=dilation,
        groups=groups,
        bias=False,
    )
    return gw, (gy.sum(axis=(0, 2, 3), dtype=np.float32) if bias else None)


def _input_shape(gy_shape, w_shape, stride, padding, output_padding, dilation) -> tuple:
    n, _, oh, ow = gy_shape
    hw = [
        (o - d * (kk - 1) - op - 1 + 2 * p) // s + 1
        for o, s, p, op, d, kk in zip(
            (oh, ow), stride, padding, output_padding, dilation, w_shape[2:]
        )
    ]
    return (n, w_shape[0], *hw)

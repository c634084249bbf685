"""Pooling: max (with PyTorch's flat indices), unpooling and average pooling.

The contract, for a window of ``KH x KW`` taps ``d`` apart, moved by ``s`` over the input
padded by ``p`` (-inf for max, 0 for average; ``ceil_mode`` lets a last partial window in):

- max: ``y = max over the window``; ``dL/dx`` sends each ``g`` to its window's first
  maximum (row-major, as PyTorch picks), and overlapping windows add;
- average: ``y = sum over the window / divisor`` (the window clipped to input + padding,
  or to the input without ``count_include_pad``, or ``divisor_override``);
  ``dL/dx[p] = sum over the windows covering p of g / divisor``.

The arithmetic lives in :mod:`cnnlab.kernels` (``reference`` computes exactly these by
strided windows and col2im). 3-D ``(C, H, W)`` inputs are accepted, as in PyTorch, and give
3-D outputs. Adaptive pooling is in :mod:`cnnlab.ops.adaptive_pool`.
"""

from __future__ import annotations

from cnnlab import kernels
from cnnlab.autograd import Function, Tensor
from cnnlab.backend import get_array_module
from cnnlab.kernels.windows import out_size, pair

__all__ = [
    "MaxPool2d",
    "MaxUnpool2d",
    "AvgPool2d",
    "max_pool2d",
    "max_unpool2d",
    "avg_pool2d",
    "avg_pool1d",
    "max_pool1d",
]


def _geometry(name, shape, kernel, stride, padding, dilation, ceil_mode) -> dict:
    """Checked kernel/stride/padding/dilation: the kernels' keyword arguments (padding as
    (top, bottom, left, right))."""
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
    return {
        "kernel": k,
        "stride": s,
        "padding": (p[0], p[0], p[1], p[1]),
        "dilation": d,
        "ceil_mode": bool(ceil_mode),
    }


# ----------------------------------------------------------------------------- max pooling
class MaxPool2d(Function):
    takes_needs_input_grad = True

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
        needs_input_grad=(True,),
    ):
        geo = _geometry("max_pool2d", x.shape, kernel_size, stride, padding, dilation, ceil_mode)
        state = indices = None
        if needs_input_grad[0] or return_indices:
            y, state = kernels.max_pool2d_forward(x, **geo, return_indices=return_indices)
        else:  # nothing will ask for dL/dx: no argmax
            y = kernels.max_pool2d_inference(x, **geo)
        if return_indices:  # PyTorch's flat positions
            indices = kernels.max_pool2d_indices(state)
        return y, (state, indices)

    # dL/dx[argmax of each window] += g (overlapping windows add)
    @staticmethod
    def backward(ctx, g):
        state, _ = ctx
        return (kernels.max_pool2d_backward(g, state),)


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
        geo = _geometry("avg_pool2d", x.shape, kernel_size, stride, padding, 1, ceil_mode)
        del geo["dilation"]
        if divisor_override == 0:
            raise ValueError("avg_pool2d: divisor_override must be non-zero, got 0")
        geo["count_include_pad"] = bool(count_include_pad)
        geo["divisor_override"] = divisor_override
        return kernels.avg_pool2d_forward(x, **geo), (tuple(x.shape), geo)

    # dL/dx = sum over the windows covering x of g / divisor
    @staticmethod
    def backward(ctx, g):
        shape, geo = ctx
        return (kernels.avg_pool2d_backward(g, x_shape=shape, **geo),)


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


def _as_2d(name, input, kernel_size, stride, padding, dilation=1):
    """A 1-D pooling's arguments as 2-D ones over a height of 1."""
    if input.ndim not in (2, 3):
        raise ValueError(f"{name}: expected (N, C, L) or (C, L), got {tuple(input.shape)}")

    def one(v, what):
        v = tuple(v) if isinstance(v, (tuple, list)) else (v,)
        if len(v) != 1:
            raise ValueError(f"{name}: {what} must be an int or a 1-tuple, got {v}")
        return v[0]

    k = one(kernel_size, "kernel_size")
    s = k if stride is None or stride == () else one(stride, "stride")
    x = input.unsqueeze(-2)
    return x, (1, k), (1, s), (0, one(padding, "padding")), (1, one(dilation, "dilation"))


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """1-D max pooling: ``max_pool2d`` over a height of 1 (a composite).

    Shape: ``(N, C, L) -> (N, C, OL)`` (or without N), ``OL`` as in :func:`max_pool2d`.
    """
    x, k, s, p, d = _as_2d("max_pool1d", input, kernel_size, stride, padding, dilation)
    return max_pool2d(x, k, s, p, d, ceil_mode).squeeze(-2)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling: ``avg_pool2d`` over a height of 1 (a composite).

    Shape: ``(N, C, L) -> (N, C, OL)`` (or without N), ``OL`` as in :func:`avg_pool2d`.
    """
    x, k, s, p, _ = _as_2d("avg_pool1d", input, kernel_size, stride, padding)
    return avg_pool2d(x, k, s, p, ceil_mode, count_include_pad).squeeze(-2)

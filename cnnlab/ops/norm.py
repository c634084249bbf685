"""Batch normalisation over dim 1: one fused op with a hand-written backward.

The contract, per channel over the ``M = N * H * W`` values (every dim but 1)::

    xhat = (x - mean) / sqrt(var + eps),    y = weight * xhat + bias

Training takes ``mean`` and the biased ``var`` from the batch, so both depend on ``x``;
eval uses the running statistics as constants. With ``g = dL/dy`` and sums per channel:

- ``dL/dbias = sum(g)``, ``dL/dweight = sum(g * xhat)``;
- eval: ``dL/dx = weight / sqrt(var + eps) * g``;
- training: ``dL/dx = weight / sqrt(var + eps) * (g - sum(g)/M - xhat * sum(g * xhat)/M)``,
  the two subtracted terms being the paths through the mean (``dmean/dx = 1/M``) and
  through the variance (``dvar/dx = 2 (x - mean) / M``).

The arithmetic lives in :mod:`cnnlab.kernels` (``reference`` computes exactly these
formulas), on 4-D arrays: ``(N, C)`` and ``(N, C, L)`` inputs are viewed as ``(N, C, L, 1)``.
"""

from __future__ import annotations

from cnnlab import kernels
from cnnlab.autograd import Function, Tensor
from cnnlab.backend import get_array_module

__all__ = [
    "BatchNorm",
    "LayerNorm",
    "batch_norm",
    "instance_norm",
    "layer_norm",
    "local_response_norm",
]


class BatchNorm(Function):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` per channel (dim 1).

    ``ctx`` keeps ``x`` (alive in the graph anyway) rather than ``xhat``, which backward
    recomputes: one full-size array less held per layer. The batch's ``mean`` and biased
    ``var`` are ``ctx[2]``, ``ctx[3]``.
    """

    takes_needs_input_grad = True

    @staticmethod
    def forward(
        x, weight, bias, *, mean=None, var=None, training=False, eps=1e-5, needs_input_grad=()
    ):
        xp = get_array_module(x)
        shape, c = x.shape, x.shape[1]
        x4 = x if x.ndim == 4 else x.reshape(shape[0], c, -1, 1)
        # absent affine parameters are ones and zeros (C numbers: nothing to save)
        w = xp.ones(c, x.dtype) if weight is None else weight.astype(x.dtype, copy=False)
        b = xp.zeros(c, x.dtype) if bias is None else bias.astype(x.dtype, copy=False)
        if training:
            y, mean, var = kernels.batch_norm_train_forward(x4, w, b, eps=eps)
        else:
            mean = mean.astype(x.dtype, copy=False)
            var = var.astype(x.dtype, copy=False)
            y = kernels.batch_norm_inference(x4, w, b, mean, var, eps=eps)
        keep = x4 if any(needs_input_grad) else None
        ctx = (keep, w, mean, var, eps, training, weight is not None, bias is not None)
        return (y if len(shape) == 4 else y.reshape(shape)), ctx

    # dL/dbias = sum(g), dL/dweight = sum(g * xhat);
    # training: dL/dx = weight * invstd * (g - sum(g) / M - xhat * sum(g * xhat) / M)
    # eval:     dL/dx = weight * invstd * g
    @staticmethod
    def backward(ctx, g):
        x4, w, mean, var, eps, training, has_w, has_b = ctx
        g4 = g if g.ndim == 4 else g.reshape(x4.shape)
        fn = kernels.batch_norm_backward if training else kernels.batch_norm_inference_backward
        gx, gw, gb = fn(g4, x4, w, mean, var, eps=eps)
        gx = gx if gx.ndim == len(g.shape) else gx.reshape(g.shape)
        return gx, (gw if has_w else None), (gb if has_b else None)


def _array(t):
    return t.array if isinstance(t, Tensor) else t


def batch_norm(
    input: Tensor,
    running_mean,
    running_var,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation over dim 1 (PyTorch's ``F.batch_norm``).

    ``running_mean``/``running_var`` are arrays or Tensors (never differentiated). In training
    they are updated *in place* (their ``.array``) as ``(1 - momentum) * old + momentum *
    batch``, with the unbiased batch variance; they may be None in training. In eval they
    normalise the input. For a cumulative average pass ``momentum = 1 / num_batches``.

    Shape: input ``(N, C)``, ``(N, C, L)`` or ``(N, C, H, W)``; running stats, weight and bias
    ``(C,)``; output has the input's shape.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of at least 2 dims, got {input.shape}")
    c = input.shape[1]
    for name, t in (
        ("running_mean", running_mean),
        ("running_var", running_var),
        ("weight", weight),
        ("bias", bias),
    ):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"batch_norm: expected {name} of shape ({c},), got {tuple(t.shape)}")
    rm, rv = _array(running_mean), _array(running_var)
    if not training:
        if rm is None or rv is None:
            raise ValueError("batch_norm: eval mode needs running_mean and running_var")
        return BatchNorm.apply(input, weight, bias, mean=rm, var=rv, training=False, eps=eps)
    m = input.numel() // c
    if m <= 1:
        raise ValueError(
            f"batch_norm: expected more than 1 value per channel when training, got input "
            f"shape {tuple(input.shape)}"
        )
    out, ctx = BatchNorm.apply_with_ctx(input, weight, bias, training=True, eps=eps)
    mean, var = ctx[2], ctx[3]  # the batch's statistics
    if rm is not None:
        rm *= 1 - momentum
        rm += (momentum * mean).astype(rm.dtype, copy=False)
    if rv is not None:
        rv *= 1 - momentum
        rv += (momentum * m / (m - 1) * var).astype(rv.dtype, copy=False)
    return out


class LayerNorm(Function):
    """``y = (x - mean) / sqrt(var + eps) * weight + bias`` over the last ``k`` dims.

    With ``xhat`` the normalised input, ``r = 1 / sqrt(var + eps)``, ``gx = g * weight`` and
    means over the ``M`` normalised values of each row, the derivative follows batch norm's
    in training (the statistics depend on ``x``) with rows for channels.
    """

    @staticmethod
    def forward(x, weight, bias, *, k, eps):
        axes = tuple(range(x.ndim - k, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        xc = x - mean
        r = 1.0 / ((xc * xc).mean(axis=axes, keepdims=True) + eps) ** 0.5
        xhat = xc * r
        y = xhat if weight is None else xhat * weight
        y = y if bias is None else y + bias
        return y.astype(x.dtype, copy=False), (xhat, r, weight, axes)

    # dL/dx = r * (gx - mean(gx) - xhat * mean(gx * xhat)),  gx = g * weight
    # dL/dweight = g * xhat, dL/dbias = g (the engine sums over the leading dims)
    @staticmethod
    def backward(ctx, g):
        xhat, r, weight, axes = ctx
        gx = g if weight is None else g * weight
        dx = r * (
            gx
            - gx.mean(axis=axes, keepdims=True)
            - xhat * (gx * xhat).mean(axis=axes, keepdims=True)
        )
        return dx, (None if weight is None else g * xhat), g


def layer_norm(input: Tensor, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Normalise over the trailing ``normalized_shape`` dims (PyTorch's ``F.layer_norm``).

    Shape: input ``(*, *normalized_shape)``; weight and bias ``normalized_shape``; output has
    the input's shape.
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if not k or tuple(input.shape[input.ndim - k :]) != shape or input.ndim < k:
        raise ValueError(
            f"layer_norm: expected an input ending in normalized_shape {shape}, got "
            f"{tuple(input.shape)}"
        )
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"layer_norm: expected {name} of shape {shape}, got {tuple(t.shape)}")
    return LayerNorm.apply(input, weight, bias, k=k, eps=float(eps))


def instance_norm(input: Tensor, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalise each (sample, channel) over its spatial dims, then scale and shift per
    channel (PyTorch's ``F.instance_norm`` without running statistics): a layer norm over
    the spatial dims, a composite of ops.

    Shape: input ``(N, C, *spatial)``; weight and bias ``(C,)``; output has the input's shape.
    """
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected (N, C, *spatial), got {tuple(input.shape)}")
    y = layer_norm(input, tuple(input.shape[2:]), None, None, eps)
    lead = (-1,) + (1,) * (input.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(lead)
    return y if bias is None else y + bias.reshape(lead)


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    """``x / (k + alpha / size * sum of x^2 over size channels) ** beta``, the window from
    ``size // 2`` channels back (PyTorch's ``F.local_response_norm``); a composite of ops.

    Shape: input ``(N, C, ...)``; output has the input's shape.
    """
    if input.ndim < 3 or size < 1:
        raise ValueError(
            f"local_response_norm: expected (N, C, ...) and size >= 1, got "
            f"{tuple(input.shape)} and size {size}"
        )
    from cnnlab.ops.shape import pad

    sq = input * input
    c = input.shape[1]
    back = size // 2
    sq = pad(sq, (0, 0) * (input.ndim - 2) + (back, size - 1 - back))
    total = sq[:, 0:c]
    for i in range(1, size):
        total = total + sq[:, i : i + c]
    return input / (total * (alpha / size) + k) ** beta

"""Batch normalisation: one fused op with a hand-written backward."""

from __future__ import annotations

from cnnlab.autograd import Function, Tensor
from cnnlab.backend import get_array_module
from cnnlab.threads import split_batch

__all__ = ["BatchNorm", "batch_norm"]


def _channel_shape(x) -> tuple:
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


class BatchNorm(Function):
    """``y = (x - mean) * invstd * w + b`` per channel (dim 1).

    Training uses the batch's mean and biased variance (reduced over every dim but 1); eval
    uses the given ``mean``/``var`` (the running statistics) as constants. ``ctx`` keeps ``x``
    (alive in the graph anyway) rather than ``xhat``, which backward recomputes: one full-size
    array less held per layer. The batch ``mean`` and biased ``var`` are ``ctx[2]``, ``ctx[3]``.
    """

    @staticmethod
    def forward(x, weight, bias, *, mean=None, var=None, training=False, eps=1e-5):
        xp = get_array_module(x)
        axes = (0,) + tuple(range(2, x.ndim))
        one_pass = False
        if training:
            mean, var, one_pass = _batch_stats(x)
        else:
            mean = mean.astype(x.dtype, copy=False)
            var = var.astype(x.dtype, copy=False)
        invstd = 1 / xp.sqrt(var + eps)
        scale = invstd if weight is None else invstd * weight
        # y = x * scale + shift with the per-channel constants folded: two passes over x
        shift = -mean * scale if bias is None else bias - mean * scale
        y = _affine(x, scale, shift)
        ctx = (x, axes, mean, var, invstd, weight, bias is not None, training, one_pass)
        return y, ctx

    # xhat = (x - mean) * invstd;  dL/db = sum(g), dL/dw = sum(g * xhat);
    # training: dL/dx = w * invstd * (g - sum(g) / M - xhat * sum(g * xhat) / M)
    # eval:     dL/dx = w * invstd * g
    @staticmethod
    def backward(ctx, g):
        x, axes, mean, var, invstd, weight, has_bias, training, one_pass = ctx
        xp = get_array_module(g)
        cs = _channel_shape(x)
        k = invstd if weight is None else invstd * weight
        if one_pass:
            # sums straight from g and x (no xhat array): sum(g * xhat) =
            # invstd * (sum(g * x) - mean * sum(g)); the forward checked mean is small
            # against the spread, so the difference loses no precision
            g3, x3 = _as3(g), _as3(x)
            sum_g, sum_gx = _sums(
                g3, lambda i: (xp.einsum("nci->c", g3[i]), xp.einsum("nci,nci->c", g3[i], x3[i]))
            )
            sum_gxhat = invstd * (sum_gx - mean * sum_g)
            m = x.size // x.shape[1]
            # dL/dx = a * g + b * x + c per channel
            b = -k * invstd * sum_gxhat / m
            c = -k * sum_g / m - b * mean
            gx = xp.empty(g.shape, dtype=g.dtype)
            a3, b3, c3 = (v.reshape(cs).astype(g.dtype, copy=False) for v in (k, b, c))

            def part(i) -> None:
                xp.multiply(g[i], a3, out=gx[i])
                t = xp.multiply(x[i], b3)
                t += c3
                gx[i] += t

            split_batch(part, g)
            return gx, (None if weight is None else sum_gxhat), (sum_g if has_bias else None)
        xhat = x - mean.reshape(cs)
        xhat *= invstd.reshape(cs)
        gx = xhat * g
        sum_gxhat = gx.sum(axis=axes)
        sum_g = g.sum(axis=axes)
        if training:
            m = x.size // x.shape[1]
            xhat *= (sum_gxhat / m).reshape(cs)
            xp.subtract(g, (sum_g / m).reshape(cs), out=gx)
            gx -= xhat
            gx *= k.reshape(cs)
        else:
            xp.multiply(g, k.reshape(cs), out=gx)
        return gx, (None if weight is None else sum_gxhat), (sum_g if has_bias else None)


def _sums(a, fn) -> tuple:
    """Per-channel sums ``fn(index)`` over parts of the batch, added in a fixed order."""
    parts = split_batch(fn, a)
    return tuple(sum(p[j] for p in parts) for j in range(len(parts[0])))


def _affine(x, scale, shift):
    """``x * scale + shift`` with per-channel constants, the batch split over threads."""
    xp = get_array_module(x)
    cs = _channel_shape(x)
    s, t = (v.reshape(cs).astype(x.dtype, copy=False) for v in (scale, shift))
    y = xp.empty(x.shape, dtype=x.dtype)

    def part(i) -> None:
        xp.multiply(x[i], s, out=y[i])
        y[i] += t

    split_batch(part, x)
    return y


def _as3(a):
    """``(N, C, ...)`` as ``(N, C, L)`` (a view for contiguous arrays)."""
    return a.reshape(a.shape[0], a.shape[1], -1)


def _batch_stats(x):
    """Per-channel mean and biased variance of ``x`` over every dim but 1, and whether they
    came from one pass (``E[x^2] - mean^2``, two reductions that never write an array).

    That shortcut loses precision when ``mean^2`` dwarfs the variance, so then (and for
    arrays that are not contiguous) the classic two passes over ``x - mean`` run instead.
    """
    xp = get_array_module(x)
    m = x.size // x.shape[1]
    x3 = _as3(x)
    if x.flags.c_contiguous:
        sum_x, sum_xx = _sums(
            x3, lambda i: (xp.einsum("nci->c", x3[i]), xp.einsum("nci,nci->c", x3[i], x3[i]))
        )
        mean = sum_x / m
        var = sum_xx / m - mean * mean
        if bool((mean * mean <= 4 * var).all()):
            return mean, var, True
    else:
        mean = xp.einsum("nci->c", x3) / m
    xc = x3 - mean.reshape(1, -1, 1)
    return mean, xp.einsum("nci,nci->c", xc, xc) / m, False


def _array(t):
    return t.data if isinstance(t, Tensor) else t


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
    they are updated *in place* (their ``.data``) as ``(1 - momentum) * old + momentum *
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
    if rm is not None:
        rm *= 1 - momentum
        rm += (momentum * ctx[2]).astype(rm.dtype, copy=False)
    if rv is not None:
        rv *= 1 - momentum
        rv += (momentum * m / (m - 1) * ctx[3]).astype(rv.dtype, copy=False)
    return out

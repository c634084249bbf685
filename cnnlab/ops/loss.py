"""Losses: fused, stable cross-entropy and NLL, BCE with logits, and mean squared error."""

from __future__ import annotations

import numpy as np

from cnnlab.autograd import Function, Tensor
from cnnlab.backend import get_array_module
from cnnlab.ops.activation import _sigmoid, log_softmax

__all__ = [
    "BCEWithLogits",
    "CrossEntropy",
    "NLLLoss",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "l1_loss",
    "mse_loss",
    "nll_loss",
]

_REDUCTIONS = ("none", "mean", "sum")


def _rows(x):
    """``(N, C, d1, ...)`` -> ``(N * d1 * ..., C)``; ``(C,)`` -> ``(1, C)``."""
    if x.ndim <= 2:
        return x.reshape(-1, x.shape[-1])
    return get_array_module(x).moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def _unrows(g2, shape: tuple):
    if len(shape) <= 2:
        return g2.reshape(shape)
    g = g2.reshape((shape[0],) + tuple(shape[2:]) + (shape[1],))
    return get_array_module(g).moveaxis(g, -1, 1)


def _row_weights(t, weight, ignore_index: int, dtype):
    """Per-row target weight ``w[t]`` (0 where ignored), the valid mask and safe targets."""
    xp = get_array_module(t)
    valid = t != ignore_index
    ts = xp.where(valid, t, 0)
    wt = valid.astype(dtype) if weight is None else weight.astype(dtype)[ts] * valid
    return wt, valid, ts


def _reduce(loss, wt, reduction: str, shape: tuple):
    xp = get_array_module(loss)
    if reduction == "none":
        return loss.reshape(shape), None
    if reduction == "sum":
        return xp.asarray(loss.sum()), None
    denom = wt.sum()
    with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: nan, as PyTorch
        return xp.asarray(loss.sum() / denom), denom


def _row_grad(g, reduction: str, denom, n: int):
    """dL/dloss_n for each row from the gradient of the reduced loss."""
    if reduction == "none":
        return g.reshape(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return get_array_module(g).broadcast_to(g / denom if reduction == "mean" else g, (n,))


class CrossEntropy(Function):
    """Fused ``nll(log_softmax(x))`` with class weights, ignore_index and label smoothing.

    Per row n with target t: ``loss_n = (1 - s) w_t (-logp_t) + (s / C) sum_c w_c (-logp_c)``
    (0 if ignored); 'mean' divides the sum by ``sum_n w_t`` over non-ignored rows, as PyTorch.
    """

    @staticmethod
    def forward(x, *, target, weight, ignore_index, reduction, label_smoothing):
        xp = get_array_module(x)
        x2, t = _rows(x), target.reshape(-1)
        m, c = x2.shape
        shifted = x2 - x2.max(axis=1, keepdims=True)
        p = xp.exp(shifted)
        s = p.sum(axis=1, keepdims=True)
        p /= s
        logp = shifted - xp.log(s)  # fresh array: shifted is not needed any more
        wt, valid, ts = _row_weights(t, weight, ignore_index, x.dtype)
        rows = xp.arange(m)
        loss = -logp[rows, ts] * wt
        if label_smoothing > 0:
            wc = None if weight is None else weight.astype(x.dtype)
            smooth = -(logp.sum(axis=1) if wc is None else logp @ wc) * valid
            loss = (1 - label_smoothing) * loss + (label_smoothing / c) * smooth
        out, denom = _reduce(loss, wt, reduction, target.shape)
        return out, (p, ts, wt, valid, weight, label_smoothing, reduction, denom, x.shape)

    # dL/dx_nc = gl_n * (p_nc * (a_n + (s/C) W v_n) - a_n [c = t_n] - (s/C) w_c v_n),
    #   a_n = (1 - s) w_t,  W = sum_c w_c,  v_n = not ignored,  gl_n = dL/dloss_n
    @staticmethod
    def backward(ctx, g):
        p, ts, wt, valid, weight, ls, reduction, denom, shape = ctx
        xp = get_array_module(p)
        m, c = p.shape
        gl = _row_grad(g, reduction, denom, m).astype(p.dtype, copy=False)
        a = (1 - ls) * wt * gl
        sv = (ls / c) * valid * gl
        total_w = c if weight is None else weight.astype(p.dtype).sum()
        dx = p * (a + sv * total_w)[:, None]
        if ls > 0:
            dx -= sv[:, None] if weight is None else sv[:, None] * weight.astype(p.dtype)
        dx[xp.arange(m), ts] -= a
        return (_unrows(dx, shape),)


class NLLLoss(Function):
    @staticmethod
    def forward(x, *, target, weight, ignore_index, reduction):
        xp = get_array_module(x)
        x2, t = _rows(x), target.reshape(-1)
        wt, _, ts = _row_weights(t, weight, ignore_index, x.dtype)
        loss = -x2[xp.arange(x2.shape[0]), ts] * wt
        out, denom = _reduce(loss, wt, reduction, target.shape)
        return out, (ts, wt, reduction, denom, x2.shape, x.shape)

    # dL/dx_nc = -gl_n * w_t [c = t_n]
    @staticmethod
    def backward(ctx, g):
        ts, wt, reduction, denom, shape2, shape = ctx
        xp = get_array_module(wt)
        gl = _row_grad(g, reduction, denom, shape2[0])
        dx = xp.zeros(shape2, dtype=wt.dtype)
        dx[xp.arange(shape2[0]), ts] = -wt * gl
        return (_unrows(dx, shape),)


def _array(t):
    return t.array if isinstance(t, Tensor) else t


def _check_class_target(name, input, target, weight, ignore_index, reduction):
    """Validate class-index targets; return ``(target array, weight array, C)``."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    if input.ndim < 1:
        raise ValueError(f"{name}: expected input of shape (N, C, ...) or (C,), got ()")
    c = input.shape[1] if input.ndim >= 2 else input.shape[0]
    t = _array(target)
    t = get_array_module(t).asarray(t)
    expected = (input.shape[0],) + tuple(input.shape[2:]) if input.ndim >= 2 else ()
    if tuple(t.shape) != expected:
        raise ValueError(
            f"{name}: expected target of shape {expected} for input {tuple(input.shape)}, "
            f"got {tuple(t.shape)}"
        )
    if t.dtype.kind not in "iu":
        raise ValueError(f"{name}: class-index target must be integer, got dtype {t.dtype}")
    bad = t[(t != ignore_index) & ((t < 0) | (t >= c))]
    if bad.size:
        raise ValueError(
            f"{name}: target class indices must be in [0, {c - 1}] (or ignore_index="
            f"{ignore_index}), got {int(bad.reshape(-1)[0])}"
        )
    w = _array(weight)
    if w is not None and tuple(w.shape) != (c,):
        raise ValueError(f"{name}: expected weight of shape ({c},), got {tuple(w.shape)}")
    return t, w, c


def cross_entropy(
    input: Tensor,
    target,
    weight=None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy between logits and class indices (or class probabilities).

    Shape: input ``(N, C)``, ``(N, C, d1, ...)`` or ``(C,)``; target ``(N,)``/``(N, d1, ...)``/
    ``()`` integer class indices, or float probabilities of the input's shape; output a
    scalar, or the target's shape with ``reduction='none'``.
    """
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    t = _array(target)
    if getattr(t, "dtype", None) is not None and t.dtype.kind == "f":
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing)
    t, w, _ = _check_class_target("cross_entropy", input, target, weight, ignore_index, reduction)
    return CrossEntropy.apply(
        input,
        target=t,
        weight=w,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=float(label_smoothing),
    )


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing) -> Tensor:
    """Composite for probability targets (gradients reach both input and target)."""
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"cross_entropy: probability target must have the input's shape "
            f"{tuple(input.shape)}, got {tuple(target.shape)}"
        )
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"cross_entropy: reduction must be one of {_REDUCTIONS}, got {reduction!r}"
        )
    dim = 1 if input.ndim >= 2 else 0
    c = input.shape[dim]
    if not isinstance(target, Tensor):
        target = Tensor(target)
    logp = log_softmax(input, dim)
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / c
    if weight is not None:
        w = _array(weight)
        logp = logp * Tensor(w.reshape((c,) + (1,) * (input.ndim - dim - 1)))
    loss = -(logp * target).sum(dim)
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def nll_loss(
    input: Tensor, target, weight=None, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """Negative log-likelihood of class indices given log-probabilities.

    Shape: input ``(N, C)``, ``(N, C, d1, ...)`` or ``(C,)``; target ``(N,)``/
    ``(N, d1, ...)``/``()``; output a scalar, or the target's shape with ``reduction='none'``.
    """
    t, w, _ = _check_class_target("nll_loss", input, target, weight, ignore_index, reduction)
    return NLLLoss.apply(input, target=t, weight=w, ignore_index=ignore_index, reduction=reduction)


def _reduce_tensor(name: str, loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _check_same_shape(name: str, input, target) -> None:
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(
            f"{name}: target shape {tuple(target.shape)} differs from input shape "
            f"{tuple(input.shape)}"
        )


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """``(input - target)^2``, averaged or summed.

    Shape: input and target the same shape; output a scalar, or that shape with 'none'.
    """
    _check_same_shape("mse_loss", input, target)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"mse_loss: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    diff = input - target
    return _reduce_tensor("mse_loss", diff * diff, reduction)


def l1_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """``|input - target|``, averaged or summed (a composite: autograd differentiates ``abs``,
    whose gradient at 0 is 0, as PyTorch's).

    Shape: input and target the same shape; output a scalar, or that shape with 'none'.
    """
    _check_same_shape("l1_loss", input, target)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"l1_loss: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    return _reduce_tensor("l1_loss", (input - target).abs(), reduction)


class BCEWithLogits(Function):
    """``l = w * ((1 - t) x + (1 + (pw - 1) t) softplus(-x))``, softplus without overflow."""

    @staticmethod
    def forward(x, t, weight, pos_weight):
        xp = get_array_module(x)
        sp = xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(-x, 0)  # softplus(-x)
        lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * t
        loss = (1 - t) * x + lw * sp
        out = loss if weight is None else loss * weight
        return out, (x, t, weight, pos_weight, sp, loss, lw)

    # dL/dx = g w (lw sigmoid(x) - pw t),  dL/dt = g w (-x + (pw - 1) softplus(-x)),
    # dL/dw = g l,  dL/dpw = g w t softplus(-x)
    @staticmethod
    def backward(ctx, g):
        x, t, weight, pw, sp, loss, lw = ctx
        gw = g if weight is None else g * weight
        pwt = t if pw is None else pw * t
        gx = gw * (lw * _sigmoid(x) - pwt)
        gt = gw * (-x if pw is None else (pw - 1) * sp - x)
        g_weight = None if weight is None else g * loss
        g_pw = None if pw is None else gw * t * sp
        return gx, gt, g_weight, g_pw


def binary_cross_entropy_with_logits(
    input: Tensor, target, weight=None, reduction: str = "mean", pos_weight=None
) -> Tensor:
    """Binary cross-entropy on logits, stable for any magnitude (PyTorch's formula).

    Shape: input and target the same shape; ``weight`` broadcastable to it; ``pos_weight``
    broadcastable along the last dim (one per class); output a scalar, or the input's shape.
    """
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"binary_cross_entropy_with_logits: reduction must be one of {_REDUCTIONS}, "
            f"got {reduction!r}"
        )
    loss = BCEWithLogits.apply(input, target, weight, pos_weight)
    if tuple(loss.shape) != tuple(input.shape):
        raise ValueError(
            f"binary_cross_entropy_with_logits: weight/pos_weight broadcast the loss to "
            f"{tuple(loss.shape)}, not the input shape {tuple(input.shape)}"
        )
    return _reduce_tensor("binary_cross_entropy_with_logits", loss, reduction)

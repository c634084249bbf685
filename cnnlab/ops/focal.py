"""CenterNet's focal loss on a Gaussian heat map (Law & Deng, 2018, CornerNet; Zhou et al.,
2019, "Objects as Points"), fused with the sigmoid, with a hand-written backward.

For logits x and a target heat map y in [0, 1] (1 exactly at each object's centre, a
Gaussian bump around it, 0 elsewhere), with p = sigmoid(x):

    l = -(1 - p)^a log p                      where y = 1   (a centre)
    l = -(1 - y)^b p^a log(1 - p)             elsewhere

summed over every element and divided by the number of centres (at least 1). The ``(1 - p)^a``
and ``p^a`` factors are the focal part (Lin et al., 2017): confident, right answers add
almost nothing, so the thousands of easy background cells do not drown the few centres.
``(1 - y)^b`` lowers the penalty for firing near a centre, where the Gaussian is high.
mmdetection calls this ``GaussianFocalLoss``; the defaults a = 2, b = 4 are the papers'.

log p and log(1 - p) are computed as -softplus(-x) and -softplus(x), finite for every x.
"""

from __future__ import annotations

from cnnlab.autograd import Function, Tensor
from cnnlab.backend import get_array_module

__all__ = ["GaussianFocalLoss", "gaussian_focal_loss"]


def _log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), stable for large |x|."""
    xp = get_array_module(x)
    return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))


class GaussianFocalLoss(Function):
    """The loss of the module docstring; forward keeps p, the logs and the centre mask."""

    @staticmethod
    def forward(x, *, target, alpha, beta):
        xp = get_array_module(x)
        log_p, log_q = _log_sigmoid(x), _log_sigmoid(-x)  # log p, log(1 - p)
        p = xp.exp(log_p)
        pos = target == 1
        neg_w = (1 - target) ** beta
        num = max(int(pos.sum()), 1)
        loss = xp.where(pos, -((1 - p) ** alpha) * log_p, -neg_w * p**alpha * log_q)
        ctx = (p, log_p, log_q, pos, neg_w, num, alpha)
        return xp.asarray(loss.sum() / num, dtype=x.dtype), ctx

    # With dp/dx = p (1 - p):
    #   centre:  dl/dx = (1 - p)^a (a p log p - (1 - p))
    #   else:    dl/dx = (1 - y)^b p^a (p - a (1 - p) log(1 - p))
    # dL/dx = g * dl/dx / num_centres
    @staticmethod
    def backward(ctx, g):
        p, log_p, log_q, pos, neg_w, num, alpha = ctx
        xp = get_array_module(p)
        q = 1 - p
        d_pos = q**alpha * (alpha * p * log_p - q)
        d_neg = neg_w * p**alpha * (p - alpha * q * log_q)
        return ((g / num) * xp.where(pos, d_pos, d_neg),)


def gaussian_focal_loss(input: Tensor, target, alpha: float = 2.0, beta: float = 4.0) -> Tensor:
    """CenterNet's focal loss of heat-map logits against a Gaussian target heat map, summed
    and divided by the number of centres (elements where the target is exactly 1).

    Args:
        input: logits, any shape, typically (N, classes, H, W).
        target: the target heat map of the same shape, values in [0, 1].
        alpha: the focal exponent a (papers: 2).
        beta: the exponent b of the penalty reduction near centres (papers: 4).

    Shape: input and target the same shape -> scalar.
    """
    t = getattr(target, "array", target)
    xp = get_array_module(input.array)
    t = xp.asarray(t, dtype=input.dtype)
    if tuple(t.shape) != tuple(input.shape):
        raise ValueError(
            f"gaussian_focal_loss: target shape {tuple(t.shape)} differs from input shape "
            f"{tuple(input.shape)}"
        )
    if t.size and (float(t.min()) < 0 or float(t.max()) > 1):
        raise ValueError(
            f"gaussian_focal_loss: target values must be in [0, 1], got "
            f"[{float(t.min())}, {float(t.max())}]"
        )
    return GaussianFocalLoss.apply(input, target=t, alpha=float(alpha), beta=float(beta))

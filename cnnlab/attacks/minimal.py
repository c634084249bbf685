"""The minimal adversarial perturbation by optimisation (Szegedy et al. 2014).

For each image we maximise, over perturbations Δ that keep ``x + Δ`` inside the bounds,

    J(Δ) = L(f(x + Δ), y) − λ‖Δ‖²        (untargeted: push away from the true class y)
    J(Δ) = −L(f(x + Δ), t) − λ‖Δ‖²       (targeted: pull towards class t)

with L the cross-entropy. Szegedy et al. used box-constrained L-BFGS; we use projected Adam
(the box is a clip). A large λ buys a small Δ that may not fool the model, a small λ a sure but
larger Δ, so λ is searched per image: ×10 until bracketed, then geometric bisection. Every
iterate is checked and the smallest successful Δ (in L2) is kept.
"""

from __future__ import annotations

import numpy as np

import cnnlab
import cnnlab.nn.functional as F
from cnnlab.attacks.base import (
    AttackResult,
    as_labels,
    check_bounds,
    eval_mode,
    make_result,
    predict_proba,
)
from cnnlab.backend import get_array_module, to_numpy

__all__ = ["minimal_perturbation"]


def _optimise(model, x, y, lam, targeted, steps, lr, lo, hi):
    """Projected Adam on J for one λ per image; returns (best Δ, its L2 norm, found)."""
    xp = get_array_module(x)
    n = x.shape[0]
    shape = (-1,) + (1,) * (x.ndim - 1)
    delta = xp.zeros_like(x)
    m, v = xp.zeros_like(x), xp.zeros_like(x)
    best = xp.zeros_like(x)
    best_norm = xp.full(n, np.inf)
    b1, b2 = 0.9, 0.999
    for t in range(1, steps + 1):
        xa = xp.clip(x + delta, lo, hi)
        delta = xa - x
        _, g_loss = _objective_grad(model, xa, y, targeted, best, best_norm, delta, xp)
        g = g_loss - 2 * lam.reshape(shape) * delta  # ascent direction of J
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        step = lr * (m / (1 - b1**t)) / (xp.sqrt(v / (1 - b2**t)) + 1e-8)
        delta = xp.clip(x + delta + step, lo, hi) - x
    xa = xp.clip(x + delta, lo, hi)
    _objective_grad(model, xa, y, targeted, best, best_norm, xa - x, xp, need_grad=False)
    return best, best_norm, xp.isfinite(best_norm)


def _objective_grad(model, xa, y, targeted, best, best_norm, delta, xp, need_grad=True):
    """Gradient of the loss term at ``xa``; records in place any iterate that succeeds with a
    smaller L2 norm than the best so far (success is judged on the logits of this pass)."""
    if need_grad:
        xt = cnnlab.Tensor(xa, requires_grad=True)
        logits = model(xt)
    else:
        with cnnlab.no_grad():
            logits = model(cnnlab.Tensor(xa))
    pred = logits.array.argmax(1)
    ok = pred == y if targeted else pred != y
    norm = xp.sqrt((delta.reshape(delta.shape[0], -1).astype(np.float64) ** 2).sum(1))
    better = ok & (norm < best_norm)
    best[better] = delta[better]
    best_norm[better] = norm[better]
    if not need_grad:
        return None, None
    ce = F.cross_entropy(logits, cnnlab.Tensor(y), reduction="none")
    obj = -ce if targeted else ce
    (g,) = cnnlab.grad(obj.sum(), [xt])
    g = None if g is None else g.array  # the raw array
    return obj.array, g


def minimal_perturbation(
    model,
    x,
    labels=None,
    *,
    target=None,
    lam: float = 0.1,
    search_steps: int = 5,
    steps: int = 40,
    lr: float = 0.02,
    bounds: tuple[float, float] = (0.0, 1.0),
    batch_size: int = 128,
) -> AttackResult:
    """Szegedy et al.'s minimal perturbation, targeted (``target``) or untargeted.

    Args:
        lam: the initial λ of every image; ``search_steps`` rounds of ``steps`` Adam steps
            (learning rate ``lr``, in input units) search λ per image.

    Images for which no round succeeded come back unchanged and are reported as failures;
    :meth:`AttackResult.norm_stats` gives the median L2 norm of the successful ones.

    Shape: x ``(N, C, H, W)``, labels ``(N,)`` -> result with ``x_adv`` ``(N, C, H, W)``.
    """
    lo, hi = check_bounds(x, bounds, "minimal_perturbation")
    xp = get_array_module(x)
    with eval_mode(model):
        proba = predict_proba(model, x)
        if labels is None:
            labels = to_numpy(xp.argmax(proba, 1))
        labels = as_labels(labels, x.shape[0], "minimal_perturbation")
        tgt = None if target is None else as_labels(target, x.shape[0], "minimal_perturbation")
        goal = labels if tgt is None else tgt
        out = []
        for i in range(0, x.shape[0], batch_size):
            xb = x[i : i + batch_size]
            yb = xp.asarray(goal[i : i + batch_size])
            n = xb.shape[0]
            lam_b = xp.full(n, float(lam))
            lam_ok = xp.zeros(n)  # largest λ that succeeded (0: none yet)
            lam_fail = xp.full(n, np.inf)  # smallest λ that failed (inf: none yet)
            best = xp.zeros_like(xb)
            best_norm = xp.full(n, np.inf)
            for _ in range(search_steps):
                d, dn, found = _optimise(model, xb, yb, lam_b, tgt is not None, steps, lr, lo, hi)
                better = dn < best_norm
                best[better], best_norm[better] = d[better], dn[better]
                # success: a stronger penalty may find a smaller Δ; failure: weaken it
                lam_ok = xp.where(found, xp.maximum(lam_ok, lam_b), lam_ok)
                lam_fail = xp.where(found, lam_fail, xp.minimum(lam_fail, lam_b))
                bracketed = (lam_ok > 0) & xp.isfinite(lam_fail)
                mid = xp.sqrt(xp.maximum(lam_ok, 1e-12) * xp.where(bracketed, lam_fail, 1.0))
                lam_b = xp.where(bracketed, mid, xp.where(found, lam_b * 10, lam_b / 10))
            out.append(xp.clip(xb + best, lo, hi))
        x_adv = xp.concatenate(out) if out else x.copy()
        params = {
            "lam": lam,
            "search_steps": search_steps,
            "steps": steps,
            "lr": lr,
            "targeted": tgt is not None,
        }
        return make_result("minimal", model, x, x_adv, labels, tgt, params, clean_proba=proba)

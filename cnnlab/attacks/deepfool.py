"""DeepFool (Moosavi-Dezfooli, Fawzi and Frossard 2016).

DeepFool linearises the classifier around the current point and steps to the nearest of the
linearised decision boundaries between the original class k₀ and each candidate class k:

    l = argmin_k |f_k - f_k₀| / ‖w_k - w_k₀‖_q

with ``w_k = ∇x f_k`` and ``q`` the dual norm (q = 2 for the L2 attack, q = 1 for L∞); the
step is ``|f_l| / ‖w_l‖₂² · w_l`` (L2) or ``|f_l| / ‖w_l‖₁ · sign(w_l)`` (L∞). It
repeats until the label changes, then scales the total perturbation by ``1 + overshoot``.
The whole batch moves at once; a sample stops once its label changed.
"""

from __future__ import annotations

import cnnlab
from cnnlab.attacks.base import (
    AttackResult,
    as_labels,
    check_bounds,
    eval_mode,
    make_result,
    predict_proba,
)
from cnnlab.backend import get_array_module, to_numpy

__all__ = ["deepfool", "deepfool_perturbation"]

_TINY = 1e-8


def _candidate_gradients(model, x, cand):
    """Logits of ``x`` and ``∇x logit[cand[:, j]]`` for each column j of ``cand`` (one backward
    pass per column: each sample's own class, since samples do not interact)."""
    xp = get_array_module(x)
    xt = cnnlab.Tensor(x, requires_grad=True)
    logits = model(xt)
    rows = xp.arange(x.shape[0])
    grads = []
    for j in range(cand.shape[1]):
        seed = xp.zeros(logits.shape, dtype=logits.dtype)
        seed[rows, cand[:, j]] = 1.0
        last = j == cand.shape[1] - 1
        (g,) = cnnlab.grad(logits, [xt], grad_outputs=seed, retain_graph=not last)
        g = None if g is None else g.array  # the raw array
        grads.append(g)
    return logits.array, xp.stack(grads, axis=1)  # (N, K), (N, K, C, H, W)


def deepfool_perturbation(
    model,
    x,
    *,
    num_candidates: int = 10,
    overshoot: float = 0.02,
    max_iter: int = 50,
    norm: str = "2",
    bounds: tuple[float, float] = (0.0, 1.0),
):
    """The DeepFool perturbation of each image (already scaled by ``1 + overshoot`` and such
    that ``x + r`` stays in ``bounds``), and whether each image's label changed.

    ``model`` should be in eval mode. Candidates are the ``num_candidates`` classes with the
    highest clean logits (the original's speed-up; all classes when it is >= their number).

    Shape: x ``(N, C, H, W)`` -> (r ``(N, C, H, W)``, fooled ``(N,)`` bool).
    """
    if str(norm) not in ("2", "inf"):
        raise ValueError(f"deepfool: norm must be '2' or 'inf', got {norm!r}")
    lo, hi = float(bounds[0]), float(bounds[1])
    xp = get_array_module(x)
    n = x.shape[0]
    with cnnlab.no_grad():
        logits0 = model(cnnlab.Tensor(x)).array
    k = min(num_candidates, logits0.shape[1])
    cand = xp.argsort(-logits0, axis=1)[:, :k]  # column 0 is the original class k0
    k0 = cand[:, 0]
    r_tot = xp.zeros_like(x)
    x_adv = x.copy()
    fooled = xp.zeros(n, dtype=bool)
    for it in range(max_iter + 1):
        active = xp.nonzero(~fooled)[0]
        if active.size == 0:
            break
        logits, grads = _candidate_gradients(model, x_adv[active], cand[active])
        still = logits.argmax(1) == k0[active]
        fooled[active] = ~still
        if it == max_iter or not bool(still.any()):
            break
        active, logits, grads = active[still], logits[still], grads[still]
        rows = xp.arange(active.size)
        f = logits[rows[:, None], cand[active]]  # (M, K)
        w = grads[:, 1:] - grads[:, :1]  # w_k - w_k0: (M, K-1, C, H, W)
        fk = xp.abs(f[:, 1:] - f[:, :1])  # |f_k - f_k0|: (M, K-1)
        wflat = w.reshape(w.shape[0], w.shape[1], -1)
        dual = xp.sqrt((wflat**2).sum(-1)) if norm == "2" else xp.abs(wflat).sum(-1)
        best = (fk / (dual + _TINY)).argmin(1)
        wl, fl, dl = w[rows, best], fk[rows, best] + 1e-4, dual[rows, best] + _TINY
        if norm == "2":  # r = |f_l| / ‖w_l‖₂² · w_l
            step = (fl / dl**2).reshape(-1, 1, 1, 1) * wl
        else:  # r = |f_l| / ‖w_l‖₁ · sign(w_l)
            step = (fl / dl).reshape(-1, 1, 1, 1) * xp.sign(wl)
        r_tot[active] += step
        x_adv[active] = xp.clip(x[active] + (1 + overshoot) * r_tot[active], lo, hi)
    return (x_adv - x), fooled


def deepfool(
    model,
    x,
    labels=None,
    *,
    num_candidates: int = 10,
    overshoot: float = 0.02,
    max_iter: int = 50,
    norm: str = "2",
    bounds: tuple[float, float] = (0.0, 1.0),
    batch_size: int = 64,
) -> AttackResult:
    """DeepFool on a batch: the (approximately) smallest perturbation that changes the label.

    Success is judged against ``labels`` (default: the clean predictions); DeepFool itself
    always moves away from the clean prediction.

    Shape: x ``(N, C, H, W)``, labels ``(N,)`` -> result with ``x_adv`` ``(N, C, H, W)``.
    """
    lo, hi = check_bounds(x, bounds, "deepfool")
    xp = get_array_module(x)
    with eval_mode(model):
        proba = predict_proba(model, x)
        if labels is None:
            labels = to_numpy(xp.argmax(proba, 1))
        labels = as_labels(labels, x.shape[0], "deepfool")
        parts = []
        for i in range(0, x.shape[0], batch_size):
            r, _ = deepfool_perturbation(
                model,
                x[i : i + batch_size],
                num_candidates=num_candidates,
                overshoot=overshoot,
                max_iter=max_iter,
                norm=str(norm),
                bounds=(lo, hi),
            )
            parts.append(xp.clip(x[i : i + batch_size] + r, lo, hi))
        x_adv = xp.concatenate(parts) if parts else x.copy()
        params = {"overshoot": overshoot, "max_iter": max_iter, "norm": str(norm)}
        return make_result("deepfool", model, x, x_adv, labels, None, params, clean_proba=proba)

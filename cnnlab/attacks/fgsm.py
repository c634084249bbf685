"""The fast gradient sign method (Goodfellow, Shlens and Szegedy 2015) and projected gradient
descent / iterative FGSM (Kurakin et al. 2017; Madry et al. 2018), under L∞ and L2.

One step of FGSM moves every pixel by ``eps`` in the direction that raises the loss of the
true label (or lowers the loss of a target class): ``x + eps * sign(∇x L)``. Under L2 the
step is the normalised gradient, ``x + eps * ∇x L / ‖∇x L‖₂`` (the "fast gradient method").
PGD repeats small steps of size ``alpha`` and after each projects back onto the ε-ball around
``x`` and the input bounds; with ``random_start`` it begins at a random point of the ball.
"""

from __future__ import annotations

import numpy as np

from cnnlab.attacks.base import (
    AttackResult,
    as_labels,
    check_bounds,
    eval_mode,
    input_gradient,
    make_result,
    predict_proba,
)
from cnnlab.backend import default_rng, get_array_module, to_numpy

__all__ = ["fgsm", "pgd", "project", "steepest_step"]

_TINY = 1e-12


def _per_sample_l2(a):
    xp = get_array_module(a)
    return xp.sqrt((a.reshape(a.shape[0], -1) ** 2).sum(1)).reshape(-1, *([1] * (a.ndim - 1)))


def _check_norm(norm, name: str) -> str:
    norm = str(norm).lower()
    if norm in ("inf", "linf", "l_inf"):
        return "inf"
    if norm in ("2", "l2"):
        return "2"
    raise ValueError(f"{name}: norm must be 'inf' or '2', got {norm!r}")


def steepest_step(g, norm: str):
    """The unit-norm direction of steepest ascent for gradient ``g``: ``sign(g)`` under L∞,
    ``g / ‖g‖₂`` (per sample) under L2.

    Shape: g ``(N, ...)`` -> same.
    """
    xp = get_array_module(g)
    if _check_norm(norm, "steepest_step") == "inf":
        return xp.sign(g)
    return g / xp.maximum(_per_sample_l2(g), _TINY)


def project(delta, eps: float, norm: str):
    """Project each perturbation in ``delta`` onto the ε-ball of ``norm`` (L∞: clip; L2:
    rescale the ones longer than ``eps``).

    Shape: delta ``(N, ...)`` -> same.
    """
    xp = get_array_module(delta)
    if _check_norm(norm, "project") == "inf":
        return xp.clip(delta, -eps, eps)
    n = _per_sample_l2(delta)
    return delta * xp.minimum(1.0, eps / xp.maximum(n, _TINY))


def _setup(name, model, x, labels, target, bounds, eps):
    if eps < 0:
        raise ValueError(f"{name}: eps must be >= 0, got {eps}")
    lo, hi = check_bounds(x, bounds, name)
    proba = predict_proba(model, x)
    xp = get_array_module(x)
    if labels is None:
        labels = to_numpy(xp.argmax(proba, 1)).astype(np.int64)
    labels = as_labels(labels, x.shape[0], name)
    tgt = None if target is None else as_labels(target, x.shape[0], name)
    return lo, hi, proba, labels, tgt


def fgsm(
    model,
    x,
    labels=None,
    *,
    eps: float,
    norm: str = "inf",
    target=None,
    bounds: tuple[float, float] = (0.0, 1.0),
    batch_size: int = 128,
) -> AttackResult:
    """One-step fast gradient attack.

    Args:
        model: a classifier returning logits; run in eval mode.
        x: images in ``bounds``; labels: true classes (default: the model's predictions).
        eps: the L∞ (``norm='inf'``) or L2 (``norm='2'``) size of the step.
        target: a class (int or one per image) for a targeted attack, else None.

    Shape: x ``(N, C, H, W)``, labels ``(N,)`` -> result with ``x_adv`` ``(N, C, H, W)``.
    """
    norm = _check_norm(norm, "fgsm")
    with eval_mode(model):
        lo, hi, proba, labels, tgt = _setup("fgsm", model, x, labels, target, bounds, eps)
        xp = get_array_module(x)
        out = []
        for i in range(0, x.shape[0], batch_size):
            xb = x[i : i + batch_size]
            yb = (labels if tgt is None else tgt)[i : i + batch_size]
            _, g = input_gradient(model, xb, yb, targeted=tgt is not None)
            out.append(xp.clip(xb + eps * steepest_step(g, norm), lo, hi).astype(x.dtype))
        x_adv = xp.concatenate(out) if out else x.copy()
        params = {"eps": float(eps), "norm": norm, "targeted": tgt is not None}
        return make_result("fgsm", model, x, x_adv, labels, tgt, params, clean_proba=proba)


def _random_start(shape, eps, norm, rng, xp, dtype):
    if norm == "inf":
        d = rng.uniform(-eps, eps, size=shape)
    else:  # uniform in the L2 ball: a random direction, radius eps * U^(1/d)
        d = rng.standard_normal(size=shape)
        d /= np.maximum(np.sqrt((d.reshape(shape[0], -1) ** 2).sum(1)), _TINY).reshape(-1, 1, 1, 1)
        dim = int(np.prod(shape[1:]))
        d *= eps * rng.uniform(0, 1, size=(shape[0], 1, 1, 1)) ** (1.0 / dim)
    return xp.asarray(d, dtype=dtype)


def pgd(
    model,
    x,
    labels=None,
    *,
    eps: float,
    alpha: float | None = None,
    steps: int = 10,
    norm: str = "inf",
    target=None,
    random_start: bool = True,
    bounds: tuple[float, float] = (0.0, 1.0),
    rng: np.random.Generator | None = None,
    batch_size: int = 128,
) -> AttackResult:
    """Projected gradient descent (iterative FGSM with projection onto the ε-ball).

    Each step: ``δ ← Π_ε(δ + α · steepest_step(∇x L(x + δ)))``, then ``x + δ`` is clipped to
    ``bounds``. ``alpha`` defaults to ``2.5 * eps / steps`` (Madry et al.). With
    ``random_start`` δ starts uniformly in the ε-ball (drawn from ``rng``, default the
    library's generator). The final iterate is returned and judged; nothing is cherry-picked.

    Shape: x ``(N, C, H, W)``, labels ``(N,)`` -> result with ``x_adv`` ``(N, C, H, W)``.
    """
    norm = _check_norm(norm, "pgd")
    if steps < 1:
        raise ValueError(f"pgd: steps must be >= 1, got {steps}")
    alpha = 2.5 * eps / steps if alpha is None else float(alpha)
    rng = default_rng() if rng is None else rng
    with eval_mode(model):
        lo, hi, proba, labels, tgt = _setup("pgd", model, x, labels, target, bounds, eps)
        xp = get_array_module(x)
        out = []
        for i in range(0, x.shape[0], batch_size):
            xb = x[i : i + batch_size]
            yb = (labels if tgt is None else tgt)[i : i + batch_size]
            if random_start:
                delta = _random_start(xb.shape, eps, norm, rng, xp, x.dtype)
            else:
                delta = xp.zeros_like(xb)
            delta = xp.clip(xb + delta, lo, hi) - xb
            for _ in range(steps):
                _, g = input_gradient(model, xb + delta, yb, targeted=tgt is not None)
                delta = project(delta + alpha * steepest_step(g, norm), eps, norm)
                delta = xp.clip(xb + delta, lo, hi) - xb
            out.append(xp.clip(xb + delta, lo, hi).astype(x.dtype))
        x_adv = xp.concatenate(out) if out else x.copy()
        params = {
            "eps": float(eps),
            "alpha": alpha,
            "steps": int(steps),
            "norm": norm,
            "targeted": tgt is not None,
            "random_start": bool(random_start),
        }
        return make_result("pgd", model, x, x_adv, labels, tgt, params, clean_proba=proba)

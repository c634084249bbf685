"""Universal adversarial perturbations (Moosavi-Dezfooli, Fawzi, Fawzi and Frossard 2017).

One perturbation ``v`` with ``‖v‖_p ≤ ξ`` that changes the model's prediction on most images.
The algorithm passes over the training images; for each image that ``v`` does not yet fool it
adds the DeepFool perturbation of ``x + v`` and projects ``v`` back onto the ξ-ball. Passes
repeat until the fooling rate on the training images reaches ``1 - delta`` or ``max_epochs``.

To batch the model calls, DeepFool runs on a mini-batch of not-yet-fooled images at the same
``v`` and their perturbations are then added one after another, projecting after each (the
paper's loop with the gradients of a mini-batch computed at one point; ``batch_size=1`` is
the paper's algorithm exactly). The fooling rate is the fraction of images whose predicted
label changes, ``P(k(x + v) ≠ k(x))``, and is reported on held-out images.
"""

from __future__ import annotations

import numpy as np

from cnnlab.attacks.base import AttackResult, check_bounds, eval_mode, make_result, predict_proba
from cnnlab.attacks.deepfool import deepfool_perturbation
from cnnlab.attacks.fgsm import _check_norm, project
from cnnlab.backend import default_rng, get_array_module, to_numpy

__all__ = ["fooling_rate", "universal", "universal_perturbation"]


def _predict(model, x, batch_size=256):
    return predict_proba(model, x, batch_size).argmax(1)


def fooling_rate(model, x, v, bounds: tuple[float, float] = (0.0, 1.0)) -> float:
    """Fraction of ``x`` whose predicted class changes when ``v`` is added (then clipped).

    Shape: x ``(N, C, H, W)``, v ``(1, C, H, W)`` or ``(C, H, W)``.
    """
    xp = get_array_module(x)
    with eval_mode(model):
        before = _predict(model, x)
        after = _predict(model, xp.clip(x + v.reshape(1, *x.shape[1:]), *bounds))
    return float(to_numpy(before != after).mean())


def universal_perturbation(
    model,
    x,
    *,
    xi: float,
    norm: str = "inf",
    delta: float = 0.2,
    max_epochs: int = 5,
    overshoot: float = 0.02,
    df_max_iter: int = 10,
    num_candidates: int = 10,
    batch_size: int = 16,
    bounds: tuple[float, float] = (0.0, 1.0),
    rng: np.random.Generator | None = None,
):
    """Compute one perturbation for all images ``x`` (the training set of the attack).

    Args:
        xi: the radius of the ξ-ball (L∞ or L2, ``norm``) that ``v`` stays in.
        delta: stop once the fooling rate on ``x`` reaches ``1 - delta``.
        df_max_iter: DeepFool's iterations per image.
        num_candidates: the classes DeepFool considers (the top ones).
        overshoot: DeepFool's overshoot.

    Returns ``(v, history)``: v of shape ``(1, C, H, W)`` and the training fooling rate after
    each pass. The loop is not monotone, so the ``v`` returned is the one with the highest
    fooling rate on ``x`` at the end of a pass (chosen on the training images only).
    """
    norm = _check_norm(norm, "universal_perturbation")
    lo, hi = check_bounds(x, bounds, "universal_perturbation")
    rng = default_rng() if rng is None else rng
    xp = get_array_module(x)
    v = xp.zeros((1, *x.shape[1:]), dtype=x.dtype)
    history = []
    best_v, best_rate = v, -1.0
    with eval_mode(model):
        clean = _predict(model, x)
        for _ in range(max_epochs):
            order = rng.permutation(x.shape[0])
            for i in range(0, len(order), batch_size):
                idx = xp.asarray(order[i : i + batch_size])
                xv = xp.clip(x[idx] + v, lo, hi)
                todo = _predict(model, xv) == clean[idx]
                if not bool(todo.any()):
                    continue
                r, fooled = deepfool_perturbation(
                    model,
                    xv[todo],
                    num_candidates=num_candidates,
                    overshoot=overshoot,
                    max_iter=df_max_iter,
                    norm="2" if norm == "2" else "inf",
                    bounds=(lo, hi),
                )
                for j in xp.nonzero(fooled)[0]:
                    v = project(v + r[j : j + 1], xi, norm)
            rate = float(to_numpy(_predict(model, xp.clip(x + v, lo, hi)) != clean).mean())
            history.append(rate)
            if rate > best_rate:
                best_v, best_rate = v.copy(), rate
            if rate >= 1 - delta:
                break
    return best_v, history


def universal(
    model,
    x_train,
    x_test,
    labels_test=None,
    *,
    xi: float,
    norm: str = "inf",
    bounds: tuple[float, float] = (0.0, 1.0),
    **options,
) -> AttackResult:
    """Fit a universal perturbation on ``x_train`` and apply it to the held-out ``x_test``.

    The result is judged against the *clean predictions* on ``x_test``, so its
    ``success_rate`` is the held-out fooling rate (``params['fooling_rate']``; the training
    rates per pass are in ``params['train_history']``). Accuracy against ``labels_test`` when
    given is in ``params['test_accuracy']`` (clean) and ``params['adv_test_accuracy']``.

    Shape: x_train ``(M, C, H, W)``, x_test ``(N, C, H, W)`` -> result on x_test; the
    perturbation itself is ``result.params['v']`` ``(1, C, H, W)``.
    """
    lo, hi = check_bounds(x_test, bounds, "universal")
    v, history = universal_perturbation(model, x_train, xi=xi, norm=norm, bounds=bounds, **options)
    xp = get_array_module(x_test)
    with eval_mode(model):
        proba = predict_proba(model, x_test)
        clean = to_numpy(proba.argmax(1))
        x_adv = xp.clip(x_test + v, lo, hi)
        result = make_result("universal", model, x_test, x_adv, clean, None, clean_proba=proba)
    result.attempted[:] = True  # the fooling rate counts every held-out image
    result.params.update(
        xi=float(xi),
        norm=norm,
        fooling_rate=result.success_rate,
        v=to_numpy(v),
        train_history=history,
        train_fooling_rate=max(history, default=0.0),
    )
    if labels_test is not None:
        y = np.asarray(to_numpy(labels_test))
        result.params["test_accuracy"] = float((clean == y).mean())
        result.params["adv_test_accuracy"] = float((result.adv_pred == y).mean())
    return result

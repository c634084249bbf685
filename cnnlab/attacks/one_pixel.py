"""The one-pixel attack (Su, Vargas and Sakurai 2019): change 1, 3 or 5 pixels, found by
differential evolution.

A candidate is ``pixels`` tuples ``(row, col, value per channel)``. The fitness to minimise
is the probability of the true class (untargeted) or one minus the target's probability
(targeted). As in the paper we use DE/rand/1 with F = 0.5 and no crossover (``cr=1``): each
child is ``p[r1] + F (p[r2] - p[r3])`` and replaces its parent when it is at least as fit.
The population of every image evolves at once, so each generation is one batched model call
over ``images x popsize`` inputs. An image stops evolving as soon as one of its candidates
fools the model.
"""

from __future__ import annotations

import numpy as np

from cnnlab.attacks.base import (
    AttackResult,
    as_labels,
    check_bounds,
    eval_mode,
    make_result,
    predict_proba,
)
from cnnlab.backend import default_rng, get_array_module, to_numpy

__all__ = ["apply_pixels", "one_pixel"]


def apply_pixels(x, cand):
    """Copies of ``x`` with the pixels of each candidate written in.

    Shape: x ``(N, C, H, W)``, cand ``(N, P, pixels * (2 + C))`` -> ``(N * P, C, H, W)``.
    """
    xp = get_array_module(x)
    n, c, h, w = x.shape
    p = cand.shape[1]
    cand = xp.asarray(cand)
    out = xp.repeat(x, p, axis=0)
    flat = cand.reshape(n * p, -1, 2 + c)
    rows = xp.clip(xp.floor(flat[..., 0]), 0, h - 1).astype(np.int64)
    cols = xp.clip(xp.floor(flat[..., 1]), 0, w - 1).astype(np.int64)
    img = xp.broadcast_to(xp.arange(n * p)[:, None], rows.shape)
    for ch in range(c):
        out[img, ch, rows, cols] = flat[..., 2 + ch].astype(x.dtype)
    return out


def one_pixel(
    model,
    x,
    labels=None,
    *,
    pixels: int = 1,
    target=None,
    popsize: int = 100,
    maxiter: int = 50,
    F: float = 0.5,
    cr: float = 1.0,
    bounds: tuple[float, float] = (0.0, 1.0),
    rng: np.random.Generator | None = None,
    batch_size: int = 2048,
) -> AttackResult:
    """Differential-evolution attack that changes at most ``pixels`` pixels of each image.

    ``popsize`` candidates per image evolve for up to ``maxiter`` generations. The best
    candidate of each image is returned; it counts as a success only if it fools the model.

    Shape: x ``(N, C, H, W)``, labels ``(N,)`` -> result with ``x_adv`` ``(N, C, H, W)``.
    """
    if pixels < 1 or popsize < 4:
        raise ValueError(f"one_pixel: need pixels >= 1 and popsize >= 4, got {pixels}, {popsize}")
    lo, hi = check_bounds(x, bounds, "one_pixel")
    rng = default_rng() if rng is None else rng
    xp = get_array_module(x)
    n, c, h, w = x.shape
    low = np.tile(np.r_[0.0, 0.0, np.full(c, lo)], pixels)
    high = np.tile(np.r_[h - 1e-6, w - 1e-6, np.full(c, hi)], pixels)
    with eval_mode(model):
        proba = predict_proba(model, x)
        if labels is None:
            labels = to_numpy(proba.argmax(1))
        labels = as_labels(labels, n, "one_pixel")
        tgt = None if target is None else as_labels(target, n, "one_pixel")
        goal = labels if tgt is None else tgt

        def fitness(idx, cand):
            probs = to_numpy(predict_proba(model, apply_pixels(x[idx], cand), batch_size))
            probs = probs.reshape(len(idx), cand.shape[1], -1)
            p_goal = probs[np.arange(len(idx))[:, None], :, goal[idx][:, None]][:, 0]
            won = probs.argmax(-1) == goal[idx][:, None]
            return (p_goal, ~won) if tgt is None else (1 - p_goal, won)

        pop = rng.uniform(low, high, size=(n, popsize, low.size))
        all_idx = np.arange(n)
        fit, won = fitness(all_idx, pop)
        done = won.any(1)
        for _ in range(maxiter):
            act = np.nonzero(~done)[0]
            if act.size == 0:
                break
            r = np.argsort(rng.random((act.size, popsize, popsize)), axis=-1)[..., :3]
            sub = pop[act]
            pick = np.arange(act.size)[:, None]
            child = sub[pick, r[..., 0]] + F * (sub[pick, r[..., 1]] - sub[pick, r[..., 2]])
            if cr < 1.0:
                keep = rng.random(child.shape) >= cr
                child[keep] = sub[keep]
            child = np.clip(child, low, high)
            f_child, w_child = fitness(act, child)
            better = f_child <= fit[act]
            sub[better] = child[better]
            pop[act] = sub
            fit[act] = np.where(better, f_child, fit[act])
            won[act] = np.where(better, w_child, won[act])
            done[act] = won[act].any(1)
        # the fooling candidate if one exists, else the fittest
        best = np.where(won.any(1), won.argmax(1), fit.argmin(1))
        x_adv = apply_pixels(x, pop[np.arange(n), best][:, None])
        x_adv = xp.clip(x_adv, lo, hi)
        params = {
            "pixels": pixels,
            "popsize": popsize,
            "maxiter": maxiter,
            "targeted": tgt is not None,
        }
        return make_result("one_pixel", model, x, x_adv, labels, tgt, params, clean_proba=proba)

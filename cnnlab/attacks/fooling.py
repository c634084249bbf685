"""Fooling images (Nguyen, Yosinski and Clune 2015): inputs unrecognisable to people that a
network assigns to a class with ≥ 99% confidence.

Two ways to make them, one image per requested class, all classes in one batch:

- ``method='gradient'``: start from noise or a blank image and climb ``log p(class | x)`` with
  sign-gradient steps, clipped to the bounds, until the confidence reaches the goal.
- ``method='evolution'``: MAP-Elites with a direct encoding (the paper's MNIST setting): an
  archive keeps the most confident image found so far for each class; every generation
  mutates archived images (each pixel with a probability between ``mutation_rate`` / 10 and
  ``mutation_rate``, Gaussian noise) and
  a child replaces the elite of *any* class it beats. No gradients are used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import cnnlab
import cnnlab.nn.functional as F
from cnnlab.attacks.base import eval_mode, predict_proba
from cnnlab.backend import default_rng, to_numpy

__all__ = ["FoolingResult", "fooling_images"]


@dataclass
class FoolingResult:
    """One image per class; ``success[i]`` is True when ``confidence[i] >= goal`` and the
    class is also the model's top prediction."""

    method: str
    images: np.ndarray
    classes: np.ndarray
    confidence: np.ndarray
    success: np.ndarray
    goal: float
    iterations: int

    @property
    def success_rate(self) -> float:
        return float(self.success.mean()) if self.success.size else float("nan")

    def summary(self) -> dict:
        return {
            "method": self.method,
            "n": int(self.classes.size),
            "success_rate": self.success_rate,
            "min_confidence": float(self.confidence.min()),
            "mean_confidence": float(self.confidence.mean()),
            "iterations": self.iterations,
            "goal": self.goal,
        }


def _start(shape, start, lo, hi, rng):
    if start == "noise":
        return rng.uniform(lo, hi, size=shape).astype(np.float32)
    if start == "blank":
        return np.full(shape, lo, dtype=np.float32)
    raise ValueError(f"fooling_images: start must be 'noise' or 'blank', got {start!r}")


def _gradient(model, x, classes, goal, steps, lr, lo, hi):
    done = np.zeros(len(classes), dtype=bool)
    it = 0  # steps taken
    while it <= steps:
        act = np.nonzero(~done)[0]
        if act.size == 0:
            break
        xt = cnnlab.Tensor(x[act], requires_grad=True)
        logp = F.log_softmax(model(xt), dim=1)
        obj = logp[np.arange(act.size), classes[act]]
        (g,) = cnnlab.grad(obj.sum(), [xt])
        g = None if g is None else g.array  # the raw array
        conf = np.exp(to_numpy(obj.array))
        reached = (conf >= goal) & (to_numpy(logp.array).argmax(1) == classes[act])
        done[act[reached]] = True
        if it == steps:
            break
        move = act[~reached]
        x[move] = np.clip(x[move] + lr * np.sign(to_numpy(g)[~reached]), lo, hi)
        it += 1
    return x, it


def _evolution(model, x, classes, goal, steps, lo, hi, rng, popsize, mutation_rate, sigma):
    k = len(classes)
    elite = x.copy()
    conf = to_numpy(predict_proba(model, elite))[:, classes]  # (k images, k classes)
    elite_conf = np.diag(conf).copy()
    it = 0  # generations run
    while it < steps and not (elite_conf >= goal).all():
        it += 1
        parents = elite[rng.integers(0, k, size=popsize)]
        # per-child mutation rates from mutation_rate / 10 to mutation_rate: big jumps explore,
        # small ones polish the last per cent of confidence
        rate = mutation_rate * 10 ** -rng.random((popsize,) + (1,) * (parents.ndim - 1))
        mask = rng.random(parents.shape) < rate
        noise = rng.normal(0, sigma * (hi - lo), size=parents.shape)
        child = np.clip(parents + mask * noise, lo, hi).astype(np.float32)
        p = to_numpy(predict_proba(model, child))[:, classes]  # (popsize, k)
        best = p.argmax(0)
        better = p[best, np.arange(k)] > elite_conf
        elite[better] = child[best[better]]
        elite_conf[better] = p[best[better], np.nonzero(better)[0]]
    return elite, it


def fooling_images(
    model,
    shape: tuple,
    classes=None,
    *,
    method: str = "gradient",
    start: str = "noise",
    goal: float = 0.99,
    steps: int = 200,
    lr: float = 0.01,
    popsize: int = 256,
    mutation_rate: float = 0.1,
    sigma: float = 0.3,
    bounds: tuple[float, float] = (0.0, 1.0),
    rng: np.random.Generator | None = None,
) -> FoolingResult:
    """Images that ``model`` assigns to each of ``classes`` with confidence ≥ ``goal``.

    Args:
        shape: the input shape ``(C, H, W)``; classes: class indices (default: all).
        method: ``'gradient'`` (``steps`` steps of size ``lr``) or ``'evolution'`` (``steps``
            generations of ``popsize`` mutated children).
        start: ``'noise'`` (uniform in the bounds) or ``'blank'`` (all at the lower bound).

    Shape: -> ``images`` ``(len(classes), C, H, W)``.
    """
    lo, hi = float(bounds[0]), float(bounds[1])
    rng = default_rng() if rng is None else rng
    with eval_mode(model):
        if classes is None:
            with cnnlab.no_grad():
                n_cls = model(cnnlab.zeros(1, *shape)).shape[1]
            classes = np.arange(n_cls)
        classes = np.asarray(classes, dtype=np.int64).reshape(-1)
        x = _start((len(classes), *shape), start, lo, hi, rng)
        if method == "gradient":
            x, it = _gradient(model, x, classes, goal, steps, lr, lo, hi)
        elif method == "evolution":
            x, it = _evolution(
                model, x, classes, goal, steps, lo, hi, rng, popsize, mutation_rate, sigma
            )
        else:
            raise ValueError(
                f"fooling_images: method must be 'gradient' or 'evolution', got {method!r}"
            )
        p = to_numpy(predict_proba(model, x))
    conf = p[np.arange(len(classes)), classes]
    success = (conf >= goal) & (p.argmax(1) == classes)
    return FoolingResult(method, x, classes, conf, success, goal, it)

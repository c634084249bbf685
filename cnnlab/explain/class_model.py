"""Class-model visualisation (Simonyan et al. 2014; Yosinski et al. 2015): gradient ascent on the
input to maximise a class score.

Each step jitters the image by a random shift (undone on the gradient), takes the gradient of
the target logit, normalises it by its largest magnitude and takes a step of size ``lr``; then
L2 decay pulls the image towards ``baseline`` (``x <- baseline + (1 - l2) (x - baseline)``),
every ``blur_every`` steps a Gaussian blur of width ``blur_sigma`` removes high frequencies,
and the image is clipped to ``clamp`` (the valid pixel range). The score is the logit, not the
softmax, as in the paper: maximising the softmax could succeed by lowering other classes.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

import cnnlab
import cnnlab.nn.functional as F
from cnnlab.backend import to_numpy
from cnnlab.explain.base import Explanation, evaluating, model_function, pick_target, score_of

__all__ = ["class_model"]


def class_model(
    model,
    target: int,
    shape: tuple | None = None,
    steps: int = 200,
    lr: float = 0.05,
    l2: float = 1e-3,
    jitter: int = 2,
    blur_every: int = 4,
    blur_sigma: float = 0.5,
    init="zeros",
    baseline: float = 0.0,
    clamp: tuple | None = (0.0, 1.0),
    normalize=None,
    seed: int = 0,
    progress=None,
) -> Explanation:
    """Synthesise an image of class ``target``.

    Args:
        shape: the model's input ``(C, H, W)`` (not needed when ``init`` is an array).
        init: ``'zeros'`` (a ``baseline`` image), ``'noise'`` (baseline plus N(0, 0.1²)
            noise) or an initial image ``(C, H, W)``.
        clamp: ``(low, high)`` pixel range kept after each step, or None.
        progress: optional callable ``progress(step, steps)``.

    Returns an :class:`Explanation` whose ``image`` is the synthesised image, ``map`` its mean
    over channels, ``extra['probability']`` the target's final softmax probability and
    ``extra['history']`` the target logit per step.

    Shape:
        - image: (C, H, W); map: (H, W)
    """
    rng = np.random.default_rng(seed)
    if isinstance(init, str):
        if shape is None or len(shape) != 3:
            raise ValueError(f"class_model: give shape=(C, H, W), got {shape}")
        if init not in ("zeros", "noise"):
            raise ValueError(
                f"class_model: init must be 'zeros', 'noise' or an array, got {init!r}"
            )
        x = np.full((1, *shape), baseline, np.float32)
        if init == "noise":
            x += 0.1 * rng.standard_normal(x.shape).astype(np.float32)
    else:
        x = np.asarray(init, np.float32).reshape(1, *np.shape(init)[-3:]).copy()
    if clamp is not None:
        x = np.clip(x, *clamp)
    f = model_function(model, normalize)
    history = []
    with evaluating(model):
        for step in range(steps):
            dy, dx = rng.integers(-jitter, jitter + 1, size=2) if jitter else (0, 0)
            xt = cnnlab.tensor(np.roll(x, (dy, dx), axis=(2, 3)), requires_grad=True)
            logits = f(xt)
            t = pick_target(logits, target)
            score = score_of(logits, t)
            (g,) = cnnlab.grad(score, [xt])
            g = None if g is None else g.data  # the raw array
            g = np.roll(to_numpy(g), (-dy, -dx), axis=(2, 3))
            history.append(float(score.item()))
            x = x + lr * g / (np.abs(g).max() + 1e-12)
            x = baseline + (1 - l2) * (x - baseline)
            if blur_every and blur_sigma > 0 and (step + 1) % blur_every == 0:
                x = gaussian_filter(x, sigma=(0, 0, blur_sigma, blur_sigma)).astype(np.float32)
            if clamp is not None:
                x = np.clip(x, *clamp)
            if progress is not None:
                progress(step + 1, steps)
        with cnnlab.no_grad():
            logits = f(cnnlab.tensor(x.astype(np.float32)))
    t = pick_target(logits, target)
    probs = F.softmax(logits.reshape(1, -1), dim=1).numpy()[0]
    return Explanation(
        x[0],
        x[0].mean(0),
        t,
        float(logits.numpy().reshape(-1)[t]),
        extra={
            "method": "class_model",
            "probability": float(probs[t]),
            "history": history,
            "steps": steps,
        },
    )

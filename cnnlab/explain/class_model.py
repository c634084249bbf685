"""Class-model visualisation (Simonyan et al. 2014; Yosinski et al. 2015): gradient ascent on the
input to maximise a class score.

Each step jitters the image by a random shift (undone on the gradient), takes the gradient of
the target logit, normalises it by its largest magnitude and takes a step of size ``lr``; then
L2 decay pulls the image towards ``baseline`` (``x <- baseline + (1 - l2) (x - baseline)``),
every ``blur_every`` steps a Gaussian blur of width ``blur_sigma`` removes high frequencies,
and the image is clipped to ``clamp`` (the valid pixel range). The score is the logit, not the
softmax, as in the paper: maximising the softmax could succeed by lowering other classes.
With ``layer`` and ``channel`` the score is that unit's mean activation instead (Erhan et al.
2009's activation maximisation; the same unit the generator prior of ``cnnlab.gan`` can drive).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

import cnnlab
import cnnlab.nn.functional as F
from cnnlab.backend import to_numpy
from cnnlab.explain.base import (
    Explanation,
    capture,
    evaluating,
    model_function,
    pick_target,
    score_of,
)

__all__ = ["class_model", "unit_scores"]


def unit_scores(out, channel: int, layer=None):
    """Per-image mean activation of ``channel`` in a layer's output ``out`` ((N, C, ...) or
    (N, C)), a differentiable (N,) tensor; a channel out of range names the layer.

    Shape:
        - out: (N, C, H, W) or (N, C); returns (N,)
    """
    if not 0 <= int(channel) < out.shape[1]:
        raise ValueError(
            f"explain: --channel must be in [0, {out.shape[1]}) for layer {layer!r}, got {channel}"
        )
    a = out[:, int(channel)]
    return a.mean(dim=tuple(range(1, a.ndim))) if a.ndim > 1 else a


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
    layer=None,
    channel: int | None = None,
) -> Explanation:
    """Synthesise an image of class ``target`` (or one that drives ``layer``'s ``channel``).

    Args:
        shape: the model's input ``(C, H, W)`` (not needed when ``init`` is an array).
        init: ``'zeros'`` (a ``baseline`` image), ``'noise'`` (baseline plus N(0, 0.1²)
            noise) or an initial image ``(C, H, W)``.
        clamp: ``(low, high)`` pixel range kept after each step, or None.
        progress: optional callable ``progress(step, steps)``.
        layer: with ``channel``, maximise this unit's mean activation instead of a logit.
        channel: the channel of ``layer`` (give both).

    Returns an :class:`Explanation` whose ``image`` is the synthesised image, ``map`` its mean
    over channels, ``extra['probability']`` the target's final softmax probability and
    ``extra['history']`` the target logit per step.

    Shape:
        - image: (C, H, W); map: (H, W)
    """
    if (layer is None) != (channel is None):
        raise ValueError("class_model: give --layer and --channel together")
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
            if layer is None:
                logits = f(xt)
                score = score_of(logits, pick_target(logits, target))
            else:
                with capture(model, layer) as store:
                    f(xt)
                score = unit_scores(store["out"], channel, layer)[0]
            (g,) = cnnlab.grad(score, [xt])
            g = None if g is None else g.array  # the raw array
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
            if layer is None:
                logits = f(cnnlab.tensor(x.astype(np.float32)))
            else:  # a unit: its activation is the score; there is no class probability
                with capture(model, layer) as store:
                    f(cnnlab.tensor(x.astype(np.float32)))
                score = float(unit_scores(store["out"], channel, layer).item())
                extra = {"method": "class_model", "probability": None, "layer": layer}
                extra.update(channel=int(channel), history=history, steps=steps)
                return Explanation(x[0], x[0].mean(0), int(channel), score, extra=extra)
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

"""Image-specific class saliency (Simonyan, Vedaldi and Zisserman 2014) and SmoothGrad
(Smilkov et al. 2017).

The saliency of pixel (i, j) for class c is ``max_k |d score_c / d x[k, i, j]|``: how much a
small change of that pixel moves the class score (the logit, before the softmax, as in the
paper). SmoothGrad averages the gradient over copies of the image with Gaussian noise of
standard deviation ``noise * (max(x) - min(x))`` and then takes the same magnitude.

:func:`input_gradient` is the engine every gradient method here shares: guided backprop and
the deconvnet call it with replacement backward rules for the activations.
"""

from __future__ import annotations

from contextlib import ExitStack

import numpy as np

import cnnlab
from cnnlab.autograd import override_backward
from cnnlab.backend import to_numpy
from cnnlab.explain.base import (
    Explanation,
    as_batch,
    evaluating,
    model_function,
    pick_target,
)

__all__ = ["input_gradient", "saliency", "smooth_grad"]


def _overrides(rules):
    stack = ExitStack()
    for fn, rule in (rules or {}).items():
        stack.enter_context(override_backward(fn, rule))
    return stack


def input_gradient(model, images, target=None, normalize=None, rules=None):
    """Gradient of the target logit with respect to each image of a batch.

    Args:
        model: a classifier (put in eval mode for the call).
        images: ``(N, C, H, W)`` float array; the images are independent (eval mode), so the
            gradient of the summed target logits is each image's own gradient.
        target: the class; None takes the top class of ``images[0]``.
        normalize: optional ``(mean, std)`` applied inside the graph (see ``base``).
        rules: ``{Function subclass: backward(ctx, g)}`` overrides used for the forward and the
            backward pass (guided backprop, deconvnet).

    Returns ``(gradient (N, C, H, W), target, logits (N, classes))``.

    Shape:
        - images: (N, C, H, W); gradient: (N, C, H, W)
    """
    f = model_function(model, normalize)
    x = cnnlab.tensor(np.asarray(images), requires_grad=True)
    with evaluating(model), _overrides(rules):
        logits = f(x)
        t = pick_target(logits, target)
        score = logits.reshape(logits.shape[0], -1)[:, t].sum()
        (g,) = cnnlab.grad(score, [x])
        g = None if g is None else g.array  # the raw array
    if g is None:
        g = np.zeros(x.shape, x.dtype)
    return to_numpy(g), t, logits.numpy().reshape(logits.shape[0], -1)


def saliency(model, image, target=None, normalize=None) -> Explanation:
    """Simonyan et al.'s saliency map: ``max over channels of |d logit_target / d x|``.

    Returns an :class:`Explanation` whose ``raw`` is the signed input gradient ``(C, H, W)``.

    Shape:
        - image: (C, H, W); map: (H, W)
    """
    x = as_batch(image, "saliency")
    g, t, logits = input_gradient(model, x, target, normalize)
    return Explanation(
        x[0],
        np.abs(g[0]).max(0),
        t,
        float(logits[0, t]),
        raw=g[0],
        extra={"method": "saliency", "logits": logits[0]},
    )


def smooth_grad(
    model,
    image,
    target=None,
    normalize=None,
    samples: int = 25,
    noise: float = 0.15,
    batch_size: int = 8,
    seed: int = 0,
    progress=None,
) -> Explanation:
    """SmoothGrad: the saliency map of the input gradient averaged over ``samples`` noisy
    copies (noise std ``noise * (max(x) - min(x))``, the paper's 10-20 %).

    ``progress``: optional callable ``progress(done, total)`` (the CLI's progress bar).

    Shape:
        - image: (C, H, W); map: (H, W)
    """
    if samples < 1 or noise < 0:
        raise ValueError(f"smooth_grad: need samples >= 1 and noise >= 0, got {samples}, {noise}")
    x = as_batch(image, "smooth_grad")
    _, t, logits = input_gradient(model, x, target, normalize)
    sigma = noise * float(x.max() - x.min())
    rng = np.random.default_rng(seed)
    total = np.zeros(x.shape[1:], np.float64)
    done = 0
    while done < samples:
        n = min(batch_size, samples - done)
        noisy = (x + sigma * rng.standard_normal((n, *x.shape[1:]))).astype(x.dtype)
        g, _, _ = input_gradient(model, noisy, t, normalize)
        total += g.sum(0)
        done += n
        if progress is not None:
            progress(done, samples)
    g = (total / samples).astype(np.float32)
    return Explanation(
        x[0],
        np.abs(g).max(0),
        t,
        float(logits[0, t]),
        raw=g,
        extra={"method": "smoothgrad", "samples": samples, "noise": noise},
    )

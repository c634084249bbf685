"""The generator as a prior for class models (Nguyen et al. 2016): instead of ascending the
class score in pixel space, ascend it in the generator's latent space, so every candidate is
an image the generator can draw, one that looks like the data.

A batch of latent codes starts from N(0, I); Adam raises the classifier's logit of the target
(or the mean activation of ``layer``'s ``channel``) of ``G(z)``, with a small L2 penalty that
keeps each code near the prior's typical norm; the best code wins.
"""

from __future__ import annotations

import numpy as np

import cnnlab
import cnnlab.nn.functional as F
from cnnlab import backend, optim
from cnnlab.explain.base import Explanation, capture, evaluating, model_function
from cnnlab.explain.class_model import unit_scores

__all__ = ["generator_class_model"]


def _fit(x, size: tuple):
    """Pad (with 0, the background) or centre-crop a (N, C, h, w) tensor to ``size``."""
    h, w = x.shape[2:]
    th, tw = size
    if (h, w) == (th, tw):
        return x
    if h > th or w > tw:
        top, left = (h - th) // 2, (w - tw) // 2
        return x[:, :, top : top + th, left : left + tw]
    dh, dw = th - h, tw - w
    return cnnlab.pad(x, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))


def generator_class_model(
    model,
    generator,
    target: int,
    shape: tuple,
    normalize=None,
    steps: int = 200,
    lr: float = 0.05,
    l2: float = 1e-3,
    batch: int = 8,
    layer=None,
    channel: int | None = None,
    condition: int | None = None,
    seed: int = 0,
    progress=None,
) -> Explanation:
    """Synthesise the image of class ``target`` (or of ``layer``'s ``channel``) that the
    generator can draw and the classifier ``model`` scores highest.

    Args:
        shape: the classifier's input ``(C, H, W)``; the generator's images (tanh, [-1, 1])
            are mapped to [0, 1] and padded or cropped to it.
        batch: latent codes optimised at once; the best is returned, all in
            ``extra['images']``.
        condition: the class fed to a conditional generator (default: ``target``).

    Returns an :class:`Explanation` whose ``image`` is the best image, ``extra`` holding its
    softmax ``probability``, the per-step ``history`` of the best score, ``images`` (batch,
    C, H, W) with their ``scores`` and ``probabilities``, and the codes ``z``.

    Shape:
        - image: (C, H, W) in [0, 1]
    """
    if (layer is None) != (channel is None):
        raise ValueError("generator class model: give --layer and --channel together")
    rng = np.random.default_rng(seed)
    z0 = rng.standard_normal((batch, generator.nz)).astype(np.float32)
    z = cnnlab.tensor(z0, requires_grad=True)
    opt = optim.Adam([z], lr=lr)
    y = None
    if getattr(generator, "num_classes", 0):
        y = np.full(batch, target if condition is None else condition)
    f = model_function(model, normalize)

    def images():
        g = generator(z, y) if y is not None else generator(z)
        return _fit((g + 1.0) * 0.5, shape[1:])

    def scores(x):
        if layer is None:
            logits = f(x)
            return logits[:, target], logits
        with capture(model, layer) as store:
            logits = f(x)
        return unit_scores(store["out"], channel, layer), logits

    history = []
    with evaluating(model), evaluating(generator):
        for step in range(steps):
            opt.zero_grad()
            s, _ = scores(images())
            loss = -s.sum() + l2 * (z * z).sum()
            loss.backward()
            opt.step()
            history.append(float(s.max().item()))
            if progress is not None:
                progress(step + 1, steps)
        with cnnlab.no_grad():
            x = images()
            s, logits = scores(x)
    s = backend.to_numpy(s.array)
    probs = F.softmax(logits, dim=1).numpy()
    best = int(np.argmax(s))
    pics = backend.to_numpy(x.array)
    return Explanation(
        pics[best],
        pics[best].mean(0),
        target if layer is None else channel,
        float(s[best]),
        extra={
            "method": "generator_class_model",
            "probability": float(probs[best, target]) if layer is None else None,
            "history": history,
            "images": pics,
            "scores": s.tolist(),
            "probabilities": probs[:, target].tolist() if layer is None else None,
            "z": backend.to_numpy(z.array),
            "steps": steps,
        },
    )

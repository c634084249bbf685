"""LP-FT (Kumar et al., "Fine-Tuning can Distort Pretrained Features and Underperform
Out-of-Distribution", ICLR 2022): fit the classifier first as a linear probe on the frozen
features, then fine-tune everything from there with a small learning rate.

A fresh (random) head sends large, random gradients into the body in the first steps and
distorts the pretrained features before the head has learnt anything; a head that already
classifies well sends small ones. :func:`probe_head` is the first stage: it writes a linear
probe, trained by :func:`cnnlab.linear_probe`, into the model's classifier.
"""

from __future__ import annotations

import numpy as np

__all__ = ["probe_head"]


def probe_head(
    model,
    features: np.ndarray,
    labels: np.ndarray,
    C: float = 10.0,
    steps: int = 300,
    head: str | None = None,
    seed: int = 0,
) -> dict:
    """Fit a linear probe on ``features`` (the head's inputs, computed by the frozen model,
    e.g. with :func:`cnnlab.features`) and copy it into the classifier ``head`` (a
    ``Linear``; default :func:`cnnlab.nn.freeze.head_name`).

    The probe sees the features divided by one number, their mean length over the training
    set (a scalar: unit length per image would not be linear, and a per-feature std is no
    estimate from a handful of images); the head's weight is the probe's divided by that
    number, so ``model`` then computes exactly the probe's logits. Returns the probe's result
    (:func:`cnnlab.linear_probe`) with ``'scale'``.

    Shape:
        - features: (N, D) with D the head's ``in_features``; labels: (N,)
    """
    from cnnlab.nn.freeze import head_name
    from cnnlab.transfer.probe import linear_probe

    name = head_name(model) if head is None else head
    layer = dict(model.named_modules()).get(name)
    if layer is None or not hasattr(layer, "weight") or layer.weight.array.ndim != 2:
        raise ValueError(
            f"probe_head: model {type(model).__name__} has no Linear layer named {name!r}"
        )
    f = np.asarray(features, np.float32)
    k, d = layer.weight.array.shape
    if f.ndim != 2 or f.shape[1] != d:
        raise ValueError(
            f"probe_head: features must be (N, {d}) (the inputs of {name}), got {f.shape}"
        )
    if int(np.max(labels)) >= k:
        raise ValueError(f"probe_head: labels go up to {int(np.max(labels))}, {name} has {k}")
    scale = float(np.linalg.norm(f, axis=1).mean()) or 1.0
    r = linear_probe(f / scale, labels, C=C, steps=steps, normalize=None, num_classes=k, seed=seed)
    layer.weight.array[...] = r["weight"] / scale
    if getattr(layer, "bias", None) is not None:
        layer.bias.array[...] = r["bias"]
    return {**r, "scale": scale}

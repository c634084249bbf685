"""Grad-CAM of a class inside a region, for a segmenter (Vinogradova, Dibrov and Myers 2020).

A segmenter gives a logit map ``y_c[i, j]`` per class, not one logit per image. The score
explained is the class's logit summed over a region ``R`` of output pixels,
``S = sum_{(i, j) in R} y_c[i, j]``: "why are these pixels class c". ``R`` is a box, a mask,
or by default the pixels the model itself labels ``c``. Then, as in
:mod:`cnnlab.explain.gradcam`, each feature map ``A_k`` of the chosen layer is weighted by
its mean gradient ``w_k = mean_ij dS / dA_k[i, j]`` and ``cam = relu(sum_k w_k A_k)``.
The default layer is the one feeding the 1x1 classifier (the last ``Conv2d`` but one): the
classifier's own output is the logit map itself.
"""

from __future__ import annotations

import numpy as np

import cnnlab
from cnnlab import nn
from cnnlab.backend import to_numpy
from cnnlab.explain.base import Explanation, as_batch, capture, evaluating, model_function
from cnnlab.explain.gradcam import upsample

__all__ = ["region_mask", "segment_grad_cam", "segment_target"]


def region_mask(region, shape: tuple) -> np.ndarray:
    """``region`` as a boolean ``shape`` (H, W) mask: a box ``(x1, y1, x2, y2)`` in pixels
    (x2, y2 exclusive, clipped to the image) or an (H, W) array (non-zero: inside)."""
    h, w = shape
    a = np.asarray(region)
    if a.shape == (h, w):
        return a.astype(bool)
    if a.shape != (4,):
        raise ValueError(
            f"segment_grad_cam: region must be a box (x1, y1, x2, y2) or a {h}x{w} mask, "
            f"got shape {a.shape}"
        )
    x1, y1, x2, y2 = (int(round(float(v))) for v in a)
    mask = np.zeros((h, w), bool)
    mask[max(y1, 0) : min(y2, h), max(x1, 0) : min(x2, w)] = True
    if not mask.any():
        raise ValueError(f"segment_grad_cam: box {tuple(a.tolist())} covers no pixel of {h}x{w}")
    return mask


def segment_target(labels: np.ndarray, target=None, background: int = 0) -> int:
    """``target`` as an int; None picks the class (other than ``background``) that the
    predicted ``labels`` (H, W) cover most, or ``background`` when nothing else is there."""
    if target is not None:
        return int(target)
    counts = np.bincount(labels.reshape(-1).astype(np.int64))
    if background < len(counts):
        counts[background] = 0
    return int(np.argmax(counts)) if counts.any() else background


def _feature_layer(model) -> str:
    convs = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    if len(convs) < 2:
        raise ValueError(
            f"segment_grad_cam: need a conv layer before the classifier; {type(model).__name__} "
            f"has {len(convs)} Conv2d"
        )
    return convs[-2]


def segment_grad_cam(
    model, image, target=None, region=None, layer=None, normalize=None
) -> Explanation:
    """Grad-CAM of class ``target`` summed over ``region`` of a segmenter's output.

    Args:
        model: a segmenter, logits (1, classes, H, W).
        image: the image (C, H, W) in [0, 1] (or what ``normalize`` expects).
        target: the class index; None: the non-background class predicted on most pixels.
        region: a box ``(x1, y1, x2, y2)`` or an (H, W) mask; None: the pixels predicted
            as ``target``.
        layer: a dotted module name; None: the last ``Conv2d`` but one.
        normalize: ``(mean, std)`` applied inside the graph, or None.

    Returns an :class:`Explanation` with ``map`` the CAM at the input size and ``extra``
    ``cam`` (at the layer's size), ``weights`` (the ``w_k``), ``region`` (the mask used)
    and ``pixels`` (how many output pixels it holds).

    Shape:
        - image: (C, H, W); logits: (1, classes, H', W'); map: (H, W)
    """
    x = as_batch(image, "segment_grad_cam")
    layer = _feature_layer(model) if layer is None else layer
    f = model_function(model, normalize)
    xt = cnnlab.tensor(x, requires_grad=True)
    with evaluating(model), capture(model, layer) as store:
        logits = f(xt)
        if logits.ndim != 4:
            raise ValueError(
                f"segment_grad_cam: the model must output (1, classes, H, W) logits, "
                f"got {logits.shape}"
            )
        labels = logits.numpy()[0].argmax(axis=0)
        t = segment_target(labels, target)
        if not 0 <= t < logits.shape[1]:
            raise ValueError(f"segment_grad_cam: target must be in [0, {logits.shape[1]}), got {t}")
        mask = labels == t if region is None else region_mask(region, labels.shape)
        weight = cnnlab.tensor(mask.astype(x.dtype))
        score = (logits[0, t] * weight).sum()  # S = sum over R of y_t
        acts = store.get("out")
        if acts is None or acts.ndim != 4:
            raise ValueError(
                f"segment_grad_cam: layer {layer!r} must output a (N, K, h, w) map, "
                f"got {None if acts is None else acts.shape}"
            )
        (g,) = cnnlab.grad(score, [acts])
        g = None if g is None else g.array
    a = acts.numpy()[0]
    g = np.zeros_like(a) if g is None else to_numpy(g)[0]
    weights = g.mean(axis=(1, 2))
    cam = np.maximum(np.tensordot(weights, a, axes=1), 0).astype(np.float32)
    return Explanation(
        x[0],
        upsample(cam, x.shape[2:]),
        t,
        float(score.item()),
        extra={
            "method": "gradcam-region",
            "layer": layer,
            "cam": cam,
            "weights": weights,
            "region": mask,
            "pixels": int(mask.sum()),
        },
    )

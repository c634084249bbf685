"""Grad-CAM (Selvaraju et al. 2017): where in a conv layer's map the evidence for a class lies.

For feature maps ``A_k`` (k = 1..K) of the chosen layer and the target logit ``y``, each map is
weighted by its average gradient, ``w_k = mean_ij dy / dA_k[i, j]``, and
``cam = relu(sum_k w_k A_k)``, upsampled bilinearly to the input size. The layer's output is
read with a forward hook and its gradient with :func:`cnnlab.grad`, so no ``.grad`` changes.
"""

from __future__ import annotations

import numpy as np

import cnnlab
import cnnlab.nn.functional as F
from cnnlab.backend import to_numpy
from cnnlab.explain.base import (
    Explanation,
    as_batch,
    capture,
    evaluating,
    last_conv_name,
    model_function,
    pick_target,
    score_of,
)

__all__ = ["grad_cam", "upsample"]


def upsample(cam: np.ndarray, size: tuple) -> np.ndarray:
    """Bilinear resize of an ``(h, w)`` map to ``size`` (half-pixel centres, like PyTorch's
    ``align_corners=False``)."""
    if tuple(cam.shape) == tuple(size):
        return cam.astype(np.float32)
    with cnnlab.no_grad():
        t = F.interpolate(
            cnnlab.tensor(cam[None, None].astype(np.float32)),
            size=tuple(size),
            mode="bilinear",
            align_corners=False,
        )
    return t.numpy()[0, 0]


def grad_cam(model, image, layer=None, target=None, normalize=None) -> Explanation:
    """Grad-CAM of ``target`` (default: the top class) at ``layer`` (a dotted module name or a
    Module; default the last ``Conv2d``).

    Returns an :class:`Explanation` with ``map`` the upsampled CAM ``(H, W)`` and
    ``extra['cam']`` the CAM at the layer's resolution, ``extra['weights']`` the ``w_k``.

    Shape:
        - image: (C, H, W); layer output: (1, K, h, w); map: (H, W)
    """
    x = as_batch(image, "grad_cam")
    layer = last_conv_name(model) if layer is None else layer
    f = model_function(model, normalize)
    xt = cnnlab.tensor(x, requires_grad=True)
    with evaluating(model), capture(model, layer) as store:
        logits = f(xt)
        t = pick_target(logits, target)
        score = score_of(logits, t)
        acts = store.get("out")
        if acts is None or acts.ndim != 4:
            raise ValueError(
                f"grad_cam: layer {layer!r} must output a (N, K, h, w) map, "
                f"got {None if acts is None else acts.shape}"
            )
        (g,) = cnnlab.grad(score, [acts])
        g = None if g is None else g.array  # the raw array
    a = acts.numpy()[0]
    g = np.zeros_like(a) if g is None else to_numpy(g)[0]
    weights = g.mean(axis=(1, 2))
    cam = np.maximum(np.tensordot(weights, a, axes=1), 0).astype(np.float32)
    return Explanation(
        x[0],
        upsample(cam, x.shape[2:]),
        t,
        float(score.item()),
        extra={"method": "gradcam", "layer": layer, "cam": cam, "weights": weights},
    )

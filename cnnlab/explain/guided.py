"""Guided backpropagation (Springenberg et al. 2015) and the deconvnet (Zeiler and Fergus 2014).

Both are the input gradient with a different backward rule for the rectifiers, swapped in with
:func:`cnnlab.override_backward` for the one pass (no module hooks, so functional ``F.relu``
calls and layers written ``inplace=True`` are covered alike). With ``g`` the gradient arriving
at a ReLU whose input was ``x``:

- backprop:  ``g * (x > 0)``
- deconvnet: ``g * (g > 0)``, the ReLU applied to the backward signal; the forward pass's
  max-pool switches still route it (``MaxPool2d``'s backward already scatters to the argmax).
- guided:    ``g * (x > 0) * (g > 0)``, both masks.

ReLU6 (``Hardtanh``, which EfficientNet-Lite uses) passes the gradient where ``0 < x < 6``
(read off its output) and LeakyReLU through its slope; the sign rule on ``g`` is the same.
"""

from __future__ import annotations

import numpy as np

from cnnlab.backend import get_array_module
from cnnlab.explain.base import Explanation, as_batch
from cnnlab.explain.saliency import input_gradient
from cnnlab.ops.activation import Hardtanh, LeakyReLU, ReLU

__all__ = ["DECONV_RULES", "GUIDED_RULES", "deconvnet", "guided_backprop"]


# dL/dx = g * (x > 0) * (g > 0); ctx is ReLU's output y (y > 0 where x > 0)
def _guided(ctx, g):
    return (g * (ctx > 0) * (g > 0),)


# dL/dx = g * (lo < x < hi) * (g > 0); ctx is Hardtanh's (y, lo, hi), y inside where x is
def _guided_hardtanh(ctx, g):
    y, lo, hi = ctx
    return (g * ((y > lo) & (y < hi)) * (g > 0),)


# dL/dx = g * (g > 0)
def _deconv(ctx, g):
    return (g * (g > 0),)


# dL/dx = (g if x > 0 else slope * g) * (g > 0)
def _guided_leaky(ctx, g):
    mask, slope = ctx
    return (get_array_module(g).where(mask, g, g * slope) * (g > 0),)


GUIDED_RULES = {ReLU: _guided, Hardtanh: _guided_hardtanh, LeakyReLU: _guided_leaky}
DECONV_RULES = {ReLU: _deconv, Hardtanh: _deconv, LeakyReLU: _deconv}


def _explain(method, rules, model, image, target, normalize) -> Explanation:
    x = as_batch(image, method)
    g, t, logits = input_gradient(model, x, target, normalize, rules=rules)
    return Explanation(
        x[0], np.abs(g[0]).max(0), t, float(logits[0, t]), raw=g[0], extra={"method": method}
    )


def guided_backprop(model, image, target=None, normalize=None) -> Explanation:
    """Guided backpropagation: the input gradient of the target logit where every ReLU passes
    back only positive gradients, and only where its input was positive.

    ``raw`` is the signed signal ``(C, H, W)`` (the picture); ``map`` its max over channels.

    Shape:
        - image: (C, H, W); raw: (C, H, W); map: (H, W)
    """
    return _explain("guided_backprop", GUIDED_RULES, model, image, target, normalize)


def deconvnet(model, image, target=None, normalize=None) -> Explanation:
    """Zeiler and Fergus's deconvnet reconstruction of the target logit: ReLUs rectify the
    backward signal, convolutions apply transposed filters and max pooling routes through the
    forward pass's switches.

    Shape:
        - image: (C, H, W); raw: (C, H, W); map: (H, W)
    """
    return _explain("deconvnet", DECONV_RULES, model, image, target, normalize)

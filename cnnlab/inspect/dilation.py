"""What dilation buys: the receptive field of an output pixel of a net against the same net
with every convolution undilated.

A 3x3 convolution at dilation ``d`` spans ``2 d + 1`` pixels for the same nine weights, so a
stack of them grows the field by ``2 d`` per layer instead of 2 (Yu and Koltun 2016). The
undilated twin keeps the weights, strides and output size (its padding shrinks by
``(d - 1)(k - 1) / 2`` so that a 'same' convolution stays 'same'); only the spacing of the
taps changes. Both fields are computed twice: analytically, by propagating (size, jump,
start) through the traced graph (:func:`analytic_receptive_field`), and measured, as the
non-zero region of an output pixel's input gradient (:func:`empirical_receptive_field`).
"""

from __future__ import annotations

import copy

from cnnlab import nn
from cnnlab.inspect.receptive_field import analytic_receptive_field, empirical_receptive_field

__all__ = ["compare_dilation", "undilated"]


def undilated(model) -> nn.Module:
    """A deep copy of ``model`` whose convolutions all have dilation 1 (same weights; each
    padding reduced by ``(d - 1)(k - 1) / 2`` per side, so output sizes do not change)."""
    twin = copy.deepcopy(model)
    for m in twin.modules():
        if isinstance(m, nn.Conv2d) and any(d != 1 for d in m.dilation):
            if not isinstance(m.padding, str):
                m.padding = tuple(
                    max(p - (d - 1) * (k - 1) // 2, 0)
                    for p, d, k in zip(m.padding, m.dilation, m.kernel_size)
                )
            m.dilation = (1,) * len(m.dilation)
    return twin


def compare_dilation(model, input_shape, unit=None) -> dict:
    """Analytic and measured receptive fields of one output pixel of ``model`` and of its
    :func:`undilated` twin.

    Args:
        model: a fully convolutional net (a segmenter: output (N, classes, H, W)).
        input_shape: the input (C, H, W); make it larger than the field to see it whole.
        unit: ``(channel, row, col)`` of the output pixel; default channel 0 at the centre.

    Returns ``{'dilated': {...}, 'plain': {...}}``, each with ``analytic`` and ``measured``
    (``{'rows', 'cols', 'size'}``; ``measured`` also ``grad``, the (H, W) gradient
    magnitude) and ``agree`` (analytic and measured regions are the same pixels).
    """
    out = {}
    for name, net in (("dilated", model), ("plain", undilated(model))):
        a = analytic_receptive_field(net, tuple(input_shape), unit=unit)
        e = empirical_receptive_field(net, tuple(input_shape), unit=unit)
        out[name] = {
            "analytic": {k: a[k] for k in ("rows", "cols", "size")},
            "measured": e,
            "agree": (a["rows"], a["cols"]) == (e["rows"], e["cols"]),
        }
    return out

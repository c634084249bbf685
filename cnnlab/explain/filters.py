"""The kernels of a conv layer as a picture: one tile per filter, each normalised to [0, 1] on
its own (so weak and strong filters are both visible). A first layer on RGB input shows each
filter in colour; otherwise each filter's first ``max_channels`` input-channel slices are shown
in grey, one row per filter.
"""

from __future__ import annotations

import numpy as np

from cnnlab import nn
from cnnlab.explain.base import find_layer, last_conv_name
from cnnlab.explain.render import make_grid

__all__ = ["conv_weights", "filter_grid", "filters"]


def conv_weights(model, layer=None) -> np.ndarray:
    """The weight ``(O, C/groups, kH, kW)`` of ``layer`` (default: the first ``Conv2d``)."""
    name = last_conv_name(model, first=True) if layer is None else layer
    module = find_layer(model, name)
    if not isinstance(module, nn.Conv2d):
        raise ValueError(f"filters: layer {name!r} is a {type(module).__name__}, not a Conv2d")
    return module.weight.numpy().astype(np.float32)


def _unit(a: np.ndarray, axes) -> np.ndarray:
    lo, hi = a.min(axis=axes, keepdims=True), a.max(axis=axes, keepdims=True)
    return (a - lo) / np.where(hi > lo, hi - lo, 1)


def filter_grid(
    weights: np.ndarray, color: bool | None = None, max_channels: int = 8, max_filters: int = 64
) -> np.ndarray:
    """Grid picture of conv kernels, each filter normalised to [0, 1] over its own values.

    ``color`` defaults to True when the kernels have 3 input channels.

    Shape:
        - weights: (O, C, kH, kW); output: (H, W, 3) in colour, else (H, W)
    """
    w = np.asarray(weights, np.float32)[:max_filters]
    if w.ndim != 4:
        raise ValueError(f"filter_grid: expected (O, C, kH, kW) weights, got shape {w.shape}")
    color = w.shape[1] == 3 if color is None else color
    if color:
        if w.shape[1] != 3:
            raise ValueError(f"filter_grid: colour needs 3 input channels, got {w.shape[1]}")
        return make_grid(_unit(w, (1, 2, 3)).transpose(0, 2, 3, 1))
    shown = _unit(w[:, :max_channels], (1, 2, 3))
    o, c = shown.shape[:2]
    return make_grid(shown.reshape(o * c, *shown.shape[2:]), ncol=c if c > 1 else None)


def filters(model, layer=None, color: bool | None = None, max_channels: int = 8):
    """``(weights (O, C, kH, kW), grid picture)`` of ``layer`` (default: the first conv)."""
    w = conv_weights(model, layer)
    return w, filter_grid(w, color, max_channels)

"""Inside the network: every layer's output, one unit's value and receptive field (from
``cnnlab.summary``'s analytic fields), a conv layer's filters and the first conv's
arithmetic. Plain functions on a :class:`cnnlab.serve.api.Loaded` model, forward-only under
``no_grad``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

import cnnlab
from cnnlab import nn
from cnnlab.serve.encode import BadInput, png_url

if TYPE_CHECKING:
    from cnnlab.serve.api import Loaded

__all__ = ["arithmetic", "features", "filters", "first_conv", "label_of", "top_images", "unit"]

MAX_CHANNELS = 64  # feature-map tiles per layer


def _forward_all(m: Loaded, x: np.ndarray) -> list:
    """Every leaf call's ``(module, input, output)`` for one image: call ``i`` is summary row
    ``i`` (the same leaves, hooked the same way; a module called twice gives two rows)."""
    from cnnlab.explain.base import model_function

    calls: list = []
    handles = [
        mod.register_forward_hook(lambda mo, i, o: calls.append((mo, i[0] if i else None, o)))
        for _, mod in m.leaves
    ]
    try:
        with cnnlab.no_grad():
            model_function(m.net, m.info.normalize)(cnnlab.tensor(x[None]))
    finally:
        for h in handles:
            h.remove()
    return [(mo, i, o[0] if isinstance(o, tuple) else o) for mo, i, o in calls]


def _layer(m: Loaded, layer) -> int:
    try:
        i = int(layer)
    except (TypeError, ValueError):
        names = [r.name for r in m.rows]
        if layer not in names:
            raise BadInput(f"layer: unknown layer {layer!r}; layers: {', '.join(names)}") from None
        i = names.index(layer)
    if not 0 <= i < len(m.rows):
        raise BadInput(f"layer: index must be in [0, {len(m.rows)}), got {layer}")
    return i


def _sprite(a: np.ndarray, max_channels: int) -> tuple[str, list]:
    """The first ``max_channels`` maps ``(C, h, w)``, each scaled to [0, 1] over its own range,
    stacked into one ``(n * h, w)`` PNG (one image per layer, not per channel: encoding is
    most of the time); and the ranges."""
    a = a[:max_channels]
    lo = a.min(axis=(1, 2), keepdims=True)
    hi = a.max(axis=(1, 2), keepdims=True)
    scaled = (a - lo) / np.where(hi > lo, hi - lo, 1)
    ranges = [[float(p), float(q)] for p, q in zip(lo.flat, hi.flat)]
    return png_url(scaled.reshape(-1, a.shape[2])), ranges


def features(m: Loaded, x: np.ndarray, max_channels: int = MAX_CHANNELS) -> dict:
    """Every layer's output for ``x``: ``sprite``, a PNG of its first ``max_channels``
    feature maps stacked top to bottom (``channels`` of them, each ``tile`` = (h, w)), or
    one strip for a vector."""
    out = []
    max_channels = max(1, min(int(max_channels), 512))
    for i, (_, _, o) in enumerate(_forward_all(m, x)):
        a = o.numpy()[0].astype(np.float32)
        if a.ndim == 1:
            a = a[None, None]
        elif a.ndim != 3:
            a = a.reshape(1, 1, -1)
        sprite, ranges = _sprite(a, max_channels)
        out.append(
            {
                "index": i,
                "name": m.rows[i].name,
                "type": m.rows[i].type,
                "shape": list(o.shape[1:]),
                "sprite": sprite,
                "channels": len(ranges),
                "tile": list(a.shape[1:]),
                "ranges": ranges,
            }
        )
    return {"layers": out}


def _box(m: Loaded, i: int, row: int, col: int) -> dict | None:
    """Input pixels ``rows``/``cols`` (first, last, clipped) that unit (row, col) of layer
    ``i`` sees, from the summary's analytic field."""
    r = m.rows[i]
    if r.rf_size is None:
        return None
    _, h, w = m.info.shape
    spans = []
    for size, jump, start, k, n in zip(r.rf_size, r.rf_jump, r.rf_start, (row, col), (h, w)):
        lo, hi = start + k * jump - size / 2, start + k * jump + size / 2
        spans.append(
            [max(int(math.floor(lo + 1e-9)), 0), min(int(math.ceil(hi - 1e-9)) - 1, n - 1)]
        )
    return {"rows": spans[0], "cols": spans[1]}


def unit(m: Loaded, x: np.ndarray, layer, channel: int, row: int = 0, col: int = 0) -> dict:
    """The value of one unit of ``layer`` for ``x`` and its receptive field on the input."""
    i = _layer(m, layer)
    o = _forward_all(m, x)[i][2].numpy()[0]
    idx = _index(o.shape, channel, row, col)
    spatial = o.ndim == 3
    return {
        "layer": i,
        "name": m.rows[i].name,
        "value": float(o[idx]),
        "rf": _box(m, i, row, col) if spatial else _box(m, i, 0, 0),
    }


def _index(shape, channel, row, col) -> tuple:
    want = (channel, row, col)[: len(shape)] if len(shape) == 3 else (channel,)
    if len(shape) != 3 and len(shape) != 1:
        raise BadInput(f"unit: layer output of shape {tuple(shape)} has no (channel, row, col)")
    for v, n, what in zip(want, shape, ("channel", "row", "col")):
        if not 0 <= int(v) < n:
            raise BadInput(f"unit: {what} must be in [0, {n}), got {v}")
    return tuple(int(v) for v in want)


def first_conv(m: Loaded, required: bool = True):
    """Row index of the first Conv2d (subclasses too, such as EfficientNet's SameConv2d)."""
    for i, mod in enumerate(m.modules):
        if isinstance(mod, nn.Conv2d):
            return i
    if required:
        raise BadInput(f"{type(m.net).__name__} has no Conv2d layer")
    return None


def _pads(m: Loaded, i: int, conv) -> tuple:
    """The first conv's padding on the top and left, read off its receptive field (centre of
    unit 0 = 0.5 + (d (k - 1) / 2 - pad)): right also for layers that pad in ``forward``
    (TensorFlow's 'SAME', EfficientNet's SameConv2d)."""
    r = m.rows[i]
    pads = []
    for start, jump, k, d, s in zip(
        r.rf_start, r.rf_jump, conv.kernel_size, conv.dilation, conv.stride
    ):
        if jump != s:
            raise BadInput(f"layer {r.name} does not see the input pixels directly")
        pads.append(int(round(d * (k - 1) / 2 - (start - 0.5))))
    return tuple(pads)


def arithmetic(m: Loaded, x: np.ndarray, channel: int, row: int, col: int) -> dict:
    """One output value of the first conv layer worked out: the input window (what the layer
    received, padded), the filter and the bias; ``sum(window * filter) + bias`` next to the
    layer's own output (they agree to float32 rounding)."""
    i = first_conv(m)
    conv = m.modules[i]
    if not isinstance(conv, nn.Conv2d):
        raise BadInput(f"layer {m.rows[i].name} is not a Conv2d")
    _, inp, out = _forward_all(m, x)[i]
    a, o = inp.numpy()[0].astype(np.float64), out.numpy()[0]
    ch, r, c = _index(o.shape, channel, row, col)
    (kh, kw), (sh, sw), (dh, dw) = conv.kernel_size, conv.stride, conv.dilation
    ph, pw = _pads(m, i, conv)
    padded = np.pad(a, ((0, 0), (ph, ph + kh * dh), (pw, pw + kw * dw)))
    per_group = conv.out_channels // conv.groups
    cin = a.shape[0] // conv.groups
    g = ch // per_group
    window = padded[
        g * cin : (g + 1) * cin,
        r * sh : r * sh + dh * (kh - 1) + 1 : dh,
        c * sw : c * sw + dw * (kw - 1) + 1 : dw,
    ]
    weight = conv.weight.numpy()[ch].astype(np.float64)
    bias = float(conv.bias.numpy()[ch]) if conv.bias is not None else 0.0
    dot = float((window * weight).sum())
    return {
        "layer": i,
        "name": m.rows[i].name,
        "channel": ch,
        "row": r,
        "col": c,
        "padding": [ph, pw],
        "stride": [sh, sw],
        "window": window.tolist(),
        "weight": weight.tolist(),
        "bias": bias,
        "has_bias": conv.bias is not None,
        "dot": dot,
        "value": dot + bias,
        "activation": float(o[ch, r, c]),
        "rf": _box(m, i, r, c),
    }


def filters(m: Loaded, layer, max_filters: int = MAX_CHANNELS) -> dict:
    """The kernels of a Conv2d layer, one tile per filter (RGB for 3 input channels, else its
    first input channel), each scaled over its own values."""
    i = _layer(m, layer)
    conv = m.modules[i]
    if not isinstance(conv, nn.Conv2d):
        raise BadInput(f"filters: layer {m.rows[i].name!r} is a {m.rows[i].type}, not a Conv2d")
    w = conv.weight.numpy().astype(np.float32)[:max_filters]
    lo = w.min(axis=(1, 2, 3), keepdims=True)
    hi = w.max(axis=(1, 2, 3), keepdims=True)
    u = (w - lo) / np.where(hi > lo, hi - lo, 1)
    tiles = [png_url(t if t.shape[0] == 3 else t[0]) for t in u]
    return {"layer": i, "name": m.rows[i].name, "shape": list(conv.weight.shape), "tiles": tiles}


MAX_SEARCH = 5000  # test images searched per request


def top_images(m: Loaded, test_set, layer, channel: int, k: int = 8, limit: int = 1000) -> dict:
    """The ``k`` images among the first ``limit`` of ``test_set`` that excite ``channel`` of
    ``layer`` most (its maximum over positions; ``cnnlab.explain.top_k_images``), best first.
    """
    from cnnlab import explain as ex

    i = _layer(m, layer)
    shape = m.rows[i].output_shape
    if len(shape) not in (1, 3):
        raise BadInput(f"top images: layer {m.rows[i].name} of shape {shape} has no channels")
    if not 0 <= int(channel) < shape[0]:
        raise BadInput(f"top images: channel must be in [0, {shape[0]}), got {channel}")
    k = max(1, min(int(k), 32))
    limit = max(k, min(int(limit), MAX_SEARCH, len(test_set)))
    module = m.modules[i]
    idx, scores = ex.top_k_images(
        m.net, test_set, module, int(channel), k, m.info.normalize, limit=limit
    )
    out = []
    for j, score in zip(idx, scores):
        img, label = test_set[int(j)]
        a = img.numpy() if hasattr(img, "numpy") else np.asarray(img)
        index, text = label_of(m, label)
        out.append(
            {
                "index": int(j),
                "label": index,
                "class": text,
                "score": float(score),
                "image": png_url(a),
            }
        )
    return {
        "layer": i,
        "name": m.rows[i].name,
        "channel": int(channel),
        "searched": limit,
        "images": out,
    }


def label_of(m, label) -> tuple:
    """A test item's target as ``(class index, text)``: a class label gives its index and
    name, a captioner's tokens ``(None, the caption)``, anything else (a scene's mask or
    boxes) ``(None, None)``."""
    if np.ndim(label) == 0 and not isinstance(label, dict):
        return int(label), m.classes[int(label)]
    tokens = label.numpy() if hasattr(label, "numpy") else np.asarray(label)
    words = m.info.config.get("words")
    if m.info.task == "caption" and words and tokens.ndim == 1:  # <start> w.. <end> <pad>..
        from cnnlab.data.captions import Vocabulary

        return None, " ".join(Vocabulary(words[3:]).words_of(tokens))
    return None, None

"""The work behind the browser lab: plain functions on a loaded model, calling the lab's
packages (the model loader of ``cnnlab.explain.command``, ``cnnlab.summary`` with receptive
fields, ``cnnlab.explain``, ``cnnlab.attacks``). :mod:`cnnlab.serve.app` only maps routes here.

Images are what :func:`read_image` made of an upload with :func:`cnnlab.images.load_image`,
the pipeline ``cnnlab predict`` uses: float ``(C, H, W)`` in [0, 1]. A :class:`Lab` holds the
models on offer and one lock: requests run one at a time, each model in eval mode, and the
forward-only work under ``no_grad``.
"""

from __future__ import annotations

import math
import threading
from contextlib import contextmanager

import numpy as np

import cnnlab
from cnnlab import nn
from cnnlab.serve.catalogue import list_choices
from cnnlab.serve.encode import BadInput, check_image_bytes, decode, png_url

__all__ = [
    "Lab",
    "Loaded",
    "arithmetic",
    "attack",
    "describe",
    "explain",
    "features",
    "filters",
    "predict",
    "read_image",
    "test_image",
    "unit",
]

EXPLAIN_METHODS = ("saliency", "smoothgrad", "guided", "deconvnet", "gradcam", "occlusion")
ATTACK_METHODS = ("fgsm", "pgd")
MAX_PGD_STEPS = 50
MAX_SMOOTHGRAD_SAMPLES = 50
MAX_OCCLUSION_PATCHES = 1024
MAX_CHANNELS = 64  # feature-map tiles per layer


class Loaded:
    """A model ready to serve: the loader's ``info`` (model in eval mode, input shape,
    normalisation, classes, data), its summary rows and the leaf modules in call order."""

    def __init__(self, id: str, info) -> None:
        self.id, self.info = id, info
        self.summary = cnnlab.summary(info.model, info.shape)
        self.rows = self.summary.rows
        self.leaves = _leaves(info.model)
        self.test_set = None

    @property
    def classes(self) -> list[str]:
        n = _num_classes(self)
        return [str(c) for c in (self.info.classes or range(n))][:n]


class Lab:
    """The models on offer (by id) with a cache of loaded ones and the one request lock."""

    def __init__(self, runs=None, checkpoint=None, model=None, pretrained=False, cache=2):
        self.choices, self.default = list_choices(runs, checkpoint, model, pretrained)
        self._by_id = {c.id: c for c in self.choices}
        self._cache: dict = {}
        self._size = cache
        self.lock = threading.Lock()

    def catalogue(self) -> dict:
        return {"models": [c.public() for c in self.choices], "default": self.default}

    @contextmanager
    def use(self, model_id: str | None):
        """The loaded model ``model_id`` (default: the server's), held under the lock."""
        from cnnlab.explain.command import load_model

        mid = model_id or self.default
        if mid not in self._by_id:
            raise BadInput(f"model: unknown id {mid!r}; GET /api/models lists the choices")
        with self.lock:
            if mid not in self._cache:
                c = self._by_id[mid]
                if c.checkpoint is not None:
                    info = load_model(checkpoint=c.checkpoint)
                else:
                    info = load_model(name=c.name, pretrained=c.pretrained)
                while len(self._cache) >= self._size:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[mid] = Loaded(mid, info)
            m = self._cache[mid]
            m.info.model.eval()
            yield m


def _leaves(model) -> list:
    """The modules ``cnnlab.summary`` makes rows of, so that call ``i`` is row ``i``."""
    return [
        (n, m)
        for n, m in model.named_modules()
        if not list(m.children()) or list(m.parameters(recurse=False))
    ]


def _num_classes(m: Loaded) -> int:
    return int(np.prod(m.rows[-1].output_shape)) if m.rows else 0


def describe(m: Loaded) -> dict:
    """The model's input, classes and architecture: one entry per summary row (name, type,
    output shape, parameters, receptive field size / jump / start)."""
    first = _first_conv(m, required=False)
    return {
        "id": m.id,
        "model": type(m.info.model).__name__,
        "input_shape": list(m.info.shape),
        "classes": m.classes,
        "data": m.info.data,
        "has_test_set": _test_set(m, required=False) is not None,
        "first_conv": first,
        "totals": m.summary.totals,
        "layers": [
            {
                "index": i,
                "name": r.name,
                "type": r.type,
                "output_shape": list(r.output_shape),
                "params": r.params,
                "rf_size": _list(r.rf_size),
                "rf_jump": _list(r.rf_jump),
                "rf_start": _list(r.rf_start),
            }
            for i, r in enumerate(m.rows)
        ],
    }


def _list(v):
    return None if v is None else [float(a) for a in v]


def read_image(m: Loaded, data, invert: bool = False) -> np.ndarray:
    """An upload (bytes or data URL) as the model's input, exactly as ``cnnlab predict``
    reads image files (:func:`cnnlab.images.load_image`).

    Shape:
        output: the model's input shape (C, H, W), float32 in [0, 1]
    """
    from cnnlab.images import load_image

    raw = decode(data)
    check_image_bytes(raw)
    c, *size = m.info.shape
    try:
        x = load_image(raw, tuple(size), channels=c)
    except ValueError as e:
        raise BadInput(f"image: {e}") from None
    return 1.0 - x if invert else x


def _top(m: Loaded, probs: np.ndarray, k: int) -> list[dict]:
    names = m.classes
    order = np.argsort(-probs, kind="stable")[: max(1, min(int(k), probs.size))]
    return [{"index": int(i), "class": names[i], "p": float(probs[i])} for i in order]


def predict(m: Loaded, x: np.ndarray, topk: int = 5) -> dict:
    """Top-k classes with softmax probabilities (``cnnlab predict``'s computation) and the
    converted input as a PNG."""
    from cnnlab.train.run import predict_probs

    probs = predict_probs(m.info, x[None])[0]
    return {"top": _top(m, probs, topk), "input": png_url(x)}


def _forward_all(m: Loaded, x: np.ndarray) -> list:
    """Every leaf call's ``(input, output)`` for one image, in summary-row order."""
    from cnnlab.explain.base import model_function

    calls: list = []
    handles = [
        mod.register_forward_hook(lambda _m, i, o: calls.append((i[0] if i else None, o)))
        for _, mod in m.leaves
    ]
    try:
        with cnnlab.no_grad():
            model_function(m.info.model, m.info.normalize)(cnnlab.tensor(x[None]))
    finally:
        for h in handles:
            h.remove()
    return [(i, o[0] if isinstance(o, tuple) else o) for i, o in calls]


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


def _tiles(a: np.ndarray, max_channels: int) -> tuple[list, list]:
    """Per-channel PNGs, each scaled to [0, 1] over its own range; and those ranges."""
    a = a[:max_channels]
    lo = a.min(axis=(1, 2), keepdims=True)
    hi = a.max(axis=(1, 2), keepdims=True)
    scaled = (a - lo) / np.where(hi > lo, hi - lo, 1)
    return [png_url(t) for t in scaled], [[float(p), float(q)] for p, q in zip(lo.flat, hi.flat)]


def features(m: Loaded, x: np.ndarray, max_channels: int = MAX_CHANNELS) -> dict:
    """Every layer's output for ``x``: a tile per channel (at most ``max_channels``) for
    feature maps ``(C, h, w)``, one strip for vectors."""
    out = []
    max_channels = max(1, min(int(max_channels), 512))
    for i, (_, o) in enumerate(_forward_all(m, x)):
        a = o.numpy()[0].astype(np.float32)
        if a.ndim == 1:
            a = a[None, None]
        elif a.ndim != 3:
            a = a.reshape(1, 1, -1)
        tiles, ranges = _tiles(a, max_channels)
        out.append(
            {
                "index": i,
                "name": m.rows[i].name,
                "type": m.rows[i].type,
                "shape": list(o.shape[1:]),
                "tiles": tiles,
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
    o = _forward_all(m, x)[i][1].numpy()[0]
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


def _first_conv(m: Loaded, required: bool = True):
    for i, r in enumerate(m.rows):
        if r.type == "Conv2d":
            return i
    if required:
        raise BadInput(f"{type(m.info.model).__name__} has no Conv2d layer")
    return None


def _pads(conv) -> tuple:
    k, d = conv.kernel_size, conv.dilation
    p = conv.padding
    if p == "valid":
        return (0, 0)
    if p == "same":
        return tuple((di * (ki - 1)) // 2 for ki, di in zip(k, d))
    return (p, p) if isinstance(p, int) else tuple(p[:2])


def arithmetic(m: Loaded, x: np.ndarray, channel: int, row: int, col: int) -> dict:
    """One output value of the first conv layer worked out: the input window (what the layer
    received, padded), the filter and the bias; ``sum(window * filter) + bias`` next to the
    layer's own output (they agree to float32 rounding)."""
    i = _first_conv(m)
    conv = m.leaves[i][1]
    if not isinstance(conv, nn.Conv2d):
        raise BadInput(f"layer {m.rows[i].name} is not a Conv2d")
    inp, out = _forward_all(m, x)[i]
    a, o = inp.numpy()[0].astype(np.float64), out.numpy()[0]
    ch, r, c = _index(o.shape, channel, row, col)
    (kh, kw), (sh, sw), (dh, dw) = conv.kernel_size, conv.stride, conv.dilation
    ph, pw = _pads(conv)
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
        "dot": dot,
        "value": dot + bias,
        "activation": float(o[ch, r, c]),
        "rf": _box(m, i, r, c),
    }


def filters(m: Loaded, layer, max_filters: int = MAX_CHANNELS) -> dict:
    """The kernels of a Conv2d layer, one tile per filter (RGB for 3 input channels, else its
    first input channel), each scaled over its own values."""
    i = _layer(m, layer)
    conv = m.leaves[i][1]
    if not isinstance(conv, nn.Conv2d):
        raise BadInput(f"filters: layer {m.rows[i].name!r} is a {m.rows[i].type}, not a Conv2d")
    w = conv.weight.numpy().astype(np.float32)[:max_filters]
    lo = w.min(axis=(1, 2, 3), keepdims=True)
    hi = w.max(axis=(1, 2, 3), keepdims=True)
    u = (w - lo) / np.where(hi > lo, hi - lo, 1)
    tiles = [png_url(t if t.shape[0] == 3 else t[0]) for t in u]
    return {"layer": i, "name": m.rows[i].name, "shape": list(conv.weight.shape), "tiles": tiles}


def _target(m: Loaded, target):
    if target is None or target == "":
        return None
    n = _num_classes(m)
    try:
        t = int(target)
    except (TypeError, ValueError):
        raise BadInput(f"target: expected a class index, got {target!r}") from None
    if not 0 <= t < n:
        raise BadInput(f"target: class must be in [0, {n}), got {t}")
    return t


def explain(
    m: Loaded, x: np.ndarray, method: str, target=None, samples: int = 16, patch=None
) -> dict:
    """One explanation of ``x`` for the predicted (or a chosen) class: the map and the
    overlay as PNGs (the explain package's functions, bounded work)."""
    from cnnlab import explain as ex
    from cnnlab.explain.render import heatmap, overlay

    if method not in EXPLAIN_METHODS:
        raise BadInput(f"method: expected one of {', '.join(EXPLAIN_METHODS)}, got {method!r}")
    t, model, norm = _target(m, target), m.info.model, m.info.normalize
    if method == "saliency":
        e = ex.saliency(model, x, t, norm)
    elif method == "smoothgrad":
        n = max(1, min(int(samples), MAX_SMOOTHGRAD_SAMPLES))
        e = ex.smooth_grad(model, x, t, norm, samples=n)
    elif method == "guided":
        e = ex.guided_backprop(model, x, t, norm)
    elif method == "deconvnet":
        e = ex.deconvnet(model, x, t, norm)
    elif method == "gradcam":
        e = ex.grad_cam(model, x, None, t, norm)
    else:
        side = min(x.shape[1:])
        p = int(patch) if patch else max(side // 7, 1)
        p = max(p, math.ceil(side / math.sqrt(MAX_OCCLUSION_PATCHES / 4)))
        e = ex.occlusion(model, x, t, patch=min(p, side), normalize=norm)
    return {
        "method": method,
        "target": int(e.target),
        "class": m.classes[int(e.target)],
        "map": png_url(heatmap(e.map)),
        "overlay": png_url(overlay(x, e.map)),
        "values": np.asarray(e.map, np.float32).round(6).tolist(),
    }


def attack(
    m: Loaded, x: np.ndarray, method: str, eps: float, steps: int = 10, target=None, topk: int = 5
) -> dict:
    """FGSM or PGD (L∞, in [0, 1] pixel units) on ``x``: the adversarial image, the
    difference amplified, and the new prediction."""
    from cnnlab.attacks import fgsm, pgd
    from cnnlab.attacks.base import Normalized
    from cnnlab.train.run import predict_probs

    if method not in ATTACK_METHODS:
        raise BadInput(f"method: expected one of {', '.join(ATTACK_METHODS)}, got {method!r}")
    eps = float(eps)
    if not 0.0 <= eps <= 1.0:
        raise BadInput(f"eps: must be in [0, 1], got {eps}")
    t = _target(m, target)
    model = (
        m.info.model if m.info.normalize is None else Normalized(m.info.model, *m.info.normalize)
    )
    xb = x[None].astype(np.float32)
    if method == "fgsm":
        res = fgsm(model, xb, eps=eps, target=t)
    else:
        steps = max(1, min(int(steps), MAX_PGD_STEPS))
        res = pgd(model, xb, eps=eps, steps=steps, target=t, rng=np.random.default_rng(0))
    m.info.model.eval()
    adv = res.x_adv[0]
    delta = adv - x
    scale = float(np.abs(delta).max())
    probs = predict_probs(m.info, adv[None])[0]
    return {
        "method": method,
        "eps": eps,
        "steps": steps if method == "pgd" else 1,
        "target": t,
        "adversarial": png_url(adv),
        "difference": png_url(0.5 + delta / (2 * scale) if scale > 0 else np.full_like(delta, 0.5)),
        "linf": float(scale),
        "clean_class": int(res.clean_pred[0]),
        "top": _top(m, probs, topk),
        "success": bool(res.success[0]),
    }


def _test_set(m: Loaded, required: bool = True):
    if m.test_set is None and m.info.data:
        from cnnlab.train.recipes import load_datasets

        try:
            _, m.test_set = load_datasets(
                m.info.data, image_size=m.info.shape[-1], grayscale=m.info.shape[0] == 1
            )
        except Exception as e:
            if required:
                raise BadInput(f"test set {m.info.data!r} is not available here: {e}") from None
            return None
    if m.test_set is None and required:
        raise BadInput("this model names no data set (a zoo model): upload or draw an image")
    return m.test_set


def test_image(m: Loaded, index: int) -> dict:
    """Test-set image ``index`` of the model's data set as a lossless PNG, with its label."""
    ds = _test_set(m)
    n = len(ds)
    index = int(index) % n if n else 0
    img, label = ds[index][0], int(ds[index][1])
    a = img.numpy() if hasattr(img, "numpy") else np.asarray(img)
    raw = getattr(ds, "data", None)
    if isinstance(raw, np.ndarray) and raw.dtype == np.uint8:
        a = raw[index].astype(np.float32) / 255.0  # the stored 8-bit pixels, exactly
    elif a.max() > 1.0:
        a = a / 255.0
    return {"index": index, "n": n, "label": label, "class": m.classes[label], "image": png_url(a)}

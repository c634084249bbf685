"""What every explanation method shares: the :class:`Explanation` result, eval mode, turning an
image into a batch, explicit input normalisation, choosing the target class and finding layers.

Images are what the user gave: float arrays in [0, 1], ``(C, H, W)`` (or ``(1, C, H, W)``).
A model either normalises inside itself (``efficientnet_lite0``) or takes
``normalize=(mean, std)``, applied *inside* the differentiated function, so every map refers
to the pixels of the given image rather than to a normalised copy.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from cnnlab.autograd import Tensor

__all__ = [
    "Explanation",
    "as_batch",
    "capture",
    "evaluating",
    "find_layer",
    "last_conv_name",
    "model_function",
    "pick_target",
    "score_of",
]


@dataclass
class Explanation:
    """The result of one method on one image.

    Attributes:
        image: the input the map refers to, ``(C, H, W)`` float in [0, 1] (for the class-model
            visualisation, the synthesised image).
        map: the method's map, ``(H, W)`` (``(h, w)`` for maps not upsampled).
        target: the class (or channel) explained; None where there is none.
        score: the target's score (logit) on ``image``.
        raw: the signed per-channel signal ``(C, H, W)`` where the method has one (gradients).
        extra: anything else the method reports (probabilities, the layer, step history).
    """

    image: np.ndarray
    map: np.ndarray
    target: int | None = None
    score: float | None = None
    raw: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    def save(self, out_dir, prefix: str, overlay: bool = True) -> list:
        """Write ``<prefix>_input.png``, ``<prefix>_map.png`` (and ``_overlay``, ``_raw``)."""
        from cnnlab.explain.render import save_explanation

        return save_explanation(self, out_dir, prefix, with_overlay=overlay)

    def _picture(self):
        """Input, map and (same size) overlay side by side: what Jupyter draws inline."""
        from cnnlab.display import Picture, side_by_side
        from cnnlab.explain.render import heatmap, overlay, to_hwc

        parts = [np.clip(to_hwc(self.image), 0, 1), heatmap(self.map, "inferno")]
        if tuple(np.shape(self.map)) == tuple(np.shape(self.image)[-2:]):
            parts.append(overlay(self.image, self.map, 0.6, "jet"))
        h = max(112, parts[0].shape[0])  # small inputs enlarged so each pixel stays visible
        big = [_resize_nearest(p, h) for p in parts]
        title = None if self.target is None else f"target {self.target}"
        return Picture(side_by_side(big), title, min_side=1)

    def _repr_png_(self) -> bytes:
        return self._picture().png()


def _resize_nearest(a: np.ndarray, h: int) -> np.ndarray:
    """``a`` (h0, w0[, 3]) enlarged or shrunk by nearest neighbour to height ``h``."""
    w = max(1, round(a.shape[1] * h / a.shape[0]))
    rows = (np.arange(h) * a.shape[0] // h).clip(0, a.shape[0] - 1)
    cols = (np.arange(w) * a.shape[1] // w).clip(0, a.shape[1] - 1)
    return a[rows][:, cols]


@contextmanager
def evaluating(model):
    """Put ``model`` in eval mode for the block and restore its mode afterwards."""
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        yield model
    finally:
        if hasattr(model, "train"):
            model.train(was_training)


def as_batch(image, name: str = "explain") -> np.ndarray:
    """``image`` (``(C, H, W)``, ``(1, C, H, W)``, a Tensor or an ``(H, W)`` grey image) as a
    float32 ``(1, C, H, W)`` array.

    Shape:
        - image: (C, H, W), (1, C, H, W) or (H, W); output: (1, C, H, W)
    """
    a = image.numpy() if isinstance(image, Tensor) else np.asarray(image)
    if a.ndim == 2:
        a = a[None]
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[0] != 1:
        raise ValueError(f"{name}: expected one image (C, H, W), got shape {np.shape(image)}")
    if a.dtype.kind not in "f":
        a = a.astype(np.float32) / (255.0 if a.dtype == np.uint8 else 1.0)
    return a.astype(np.float32, copy=False) if a.dtype != np.float64 else a


def model_function(model, normalize=None):
    """``x -> model((x - mean) / std)`` with the normalisation inside the graph.

    ``normalize``: None, or ``(mean, std)`` as scalars or per-channel sequences.
    """
    if normalize is None:
        return model
    mean, std = (np.asarray(v, np.float32).reshape(1, -1, 1, 1) for v in normalize)
    if np.any(std == 0):
        raise ValueError(f"normalize: std must be non-zero, got {normalize[1]!r}")

    def f(x):
        return model((x - Tensor(mean.astype(x.dtype))) / Tensor(std.astype(x.dtype)))

    return f


def pick_target(logits: Tensor, target) -> int:
    """``target`` as an int; None picks the top class of the first row of ``logits``."""
    scores = logits.numpy().reshape(logits.shape[0], -1)
    if target is None:
        return int(np.argmax(scores[0]))
    t = int(target)
    if not 0 <= t < scores.shape[1]:
        raise ValueError(f"explain: target must be in [0, {scores.shape[1]}), got {target}")
    return t


def find_layer(model, layer):
    """The sub-module ``layer`` (a dotted name or a Module) of ``model``."""
    if not isinstance(layer, str):
        return layer
    modules = dict(model.named_modules())
    if layer not in modules:
        names = ", ".join(n for n in modules if n)
        raise ValueError(f"explain: no layer {layer!r} in {type(model).__name__}; layers: {names}")
    return modules[layer]


def last_conv_name(model, first: bool = False) -> str:
    """Name of the last (or first) ``Conv2d`` sub-module, in registration order."""
    from cnnlab import nn

    names = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    if not names:
        raise ValueError(f"explain: {type(model).__name__} has no Conv2d layer")
    return names[0] if first else names[-1]


@contextmanager
def capture(model, layer):
    """Record the output of ``layer`` (name or Module) in the yielded dict under ``'out'``
    (the first call's output when the layer runs more than once)."""
    module = find_layer(model, layer)
    store: dict = {}
    handle = module.register_forward_hook(lambda m, i, o: store.setdefault("out", o))
    try:
        yield store
    finally:
        handle.remove()


def score_of(logits: Tensor, target: int) -> Tensor:
    """The scalar logit of ``target`` in row 0."""
    return logits.reshape(logits.shape[0], -1)[0, target]

"""Feature maps: any layer's output for an image, as a grid, and the dataset images that excite
one channel most (a channel's "preferred stimuli")."""

from __future__ import annotations

import numpy as np

import cnnlab
from cnnlab.explain.base import as_batch, capture, evaluating, model_function
from cnnlab.explain.render import make_grid

__all__ = ["activation_grid", "activations", "top_k_images"]


def activations(model, image, layer, normalize=None) -> np.ndarray:
    """The output of ``layer`` (dotted name or Module) for one image.

    Shape:
        - image: (C, H, W); output: the layer's output without the batch axis, e.g. (K, h, w)
    """
    x = as_batch(image, "activations")
    f = model_function(model, normalize)
    with evaluating(model), cnnlab.no_grad(), capture(model, layer) as store:
        f(cnnlab.tensor(x))
    return store["out"].numpy()[0]


def activation_grid(maps: np.ndarray, max_maps: int = 64, shared_scale: bool = False):
    """Grid of feature maps, each scaled to [0, 1] on its own (or on one shared scale).

    Shape:
        - maps: (K, h, w); output: (H, W)
    """
    m = np.asarray(maps, np.float32)[:max_maps]
    if m.ndim != 3:
        raise ValueError(f"activation_grid: expected (K, h, w) maps, got shape {m.shape}")
    axes = None if shared_scale else (1, 2)
    lo, hi = m.min(axis=axes, keepdims=True), m.max(axis=axes, keepdims=True)
    return make_grid((m - lo) / np.where(hi > lo, hi - lo, 1))


def _image(data, i):
    item = data[i]
    img = item[0] if isinstance(item, (tuple, list)) else item
    return img.numpy() if hasattr(img, "numpy") else np.asarray(img)


def top_k_images(
    model,
    data,
    layer,
    channel: int,
    k: int = 9,
    normalize=None,
    batch_size: int = 64,
    limit: int | None = None,
    reduce: str = "max",
    progress=None,
):
    """Indices of the ``k`` images of ``data`` whose ``layer`` output excites ``channel`` most.

    Args:
        data: an array ``(N, C, H, W)`` or a dataset whose items are images or
            ``(image, label)`` pairs.
        limit: look at the first ``limit`` images only.
        reduce: how a channel's map becomes one score: ``'max'`` or ``'mean'``.

    Returns ``(indices (k,), scores (k,))``, best first.
    """
    if reduce not in ("max", "mean"):
        raise ValueError(f"top_k_images: reduce must be 'max' or 'mean', got {reduce!r}")
    n = len(data) if limit is None else min(limit, len(data))
    f = model_function(model, normalize)
    scores = np.empty(n, np.float32)
    with evaluating(model), cnnlab.no_grad(), capture(model, layer) as store:
        for start in range(0, n, batch_size):
            idx = range(start, min(start + batch_size, n))
            batch = np.stack([_image(data, i) for i in idx]).astype(np.float32)
            store.clear()
            f(cnnlab.tensor(batch))
            out = store["out"].numpy()
            if not 0 <= channel < out.shape[1]:
                raise ValueError(
                    f"top_k_images: channel must be in [0, {out.shape[1]}), got {channel}"
                )
            a = out[:, channel].reshape(len(idx), -1)
            scores[start : start + len(idx)] = a.max(1) if reduce == "max" else a.mean(1)
            if progress is not None:
                progress(start + len(idx), n)
    order = np.argsort(-scores, kind="stable")[:k]
    return order, scores[order]

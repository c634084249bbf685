"""Occlusion sensitivity (Zeiler and Fergus 2014): slide a grey patch over the image and map how
much the target's score drops at each position.

The drop ``score(image) - score(image with the patch at p)`` of every position is spread over
the pixels the patch covered and averaged where patches overlap, so the map has the input's
size. Scores are logits by default (``score='prob'``: softmax probabilities, as in the paper's
figures). Occluded copies run in batches without building a graph.
"""

from __future__ import annotations

import numpy as np

import cnnlab
import cnnlab.nn.functional as F
from cnnlab.explain.base import Explanation, as_batch, evaluating, model_function, pick_target

__all__ = ["occlusion"]


def _starts(n: int, patch: int, stride: int) -> list:
    starts = list(range(0, max(n - patch, 0) + 1, stride))
    if starts[-1] + patch < n:  # cover the far edge too
        starts.append(n - patch)
    return starts


def occlusion(
    model,
    image,
    target=None,
    patch: int = 8,
    stride: int | None = None,
    fill=0.5,
    normalize=None,
    score: str = "logit",
    batch_size: int = 32,
    progress=None,
) -> Explanation:
    """Occlusion map of ``target`` (default: the top class).

    Args:
        patch: side of the square patch in pixels; ``stride`` defaults to ``patch // 2``.
        fill: the patch's value (0.5 is mid-grey for [0, 1] images) or ``'mean'`` (the image's
            per-channel mean).
        score: ``'logit'`` or ``'prob'``.
        progress: optional callable ``progress(done, total)``.

    Returns an :class:`Explanation` with ``map`` the drop per pixel ``(H, W)`` and
    ``extra['grid']`` the drop per patch position ``(rows, cols)``.

    Shape:
        - image: (C, H, W); map: (H, W)
    """
    if score not in ("logit", "prob"):
        raise ValueError(f"occlusion: score must be 'logit' or 'prob', got {score!r}")
    x = as_batch(image, "occlusion")
    _, c, h, w = x.shape
    if not 1 <= patch <= min(h, w):
        raise ValueError(f"occlusion: patch must be in [1, {min(h, w)}], got {patch}")
    stride = max(patch // 2, 1) if stride is None else stride
    value = x[0].mean(axis=(1, 2)) if isinstance(fill, str) and fill == "mean" else fill
    value = np.broadcast_to(np.asarray(value, x.dtype).reshape(-1, 1, 1), (c, 1, 1))
    f = model_function(model, normalize)

    def scores(batch):
        out = f(cnnlab.tensor(batch))
        out = out.reshape(out.shape[0], -1)
        return (F.softmax(out, dim=1) if score == "prob" else out).numpy()

    rows, cols = _starts(h, patch, stride), _starts(w, patch, stride)
    places = [(r, q) for r in rows for q in cols]
    with evaluating(model), cnnlab.no_grad():
        base_logits = f(cnnlab.tensor(x))
        t = pick_target(base_logits, target)
        base = float(scores(x)[0, t])
        drops = []
        for i in range(0, len(places), batch_size):
            chunk = places[i : i + batch_size]
            batch = np.repeat(x, len(chunk), axis=0)
            for j, (r, q) in enumerate(chunk):
                batch[j, :, r : r + patch, q : q + patch] = value
            drops.extend(base - scores(batch)[:, t])
            if progress is not None:
                progress(min(i + batch_size, len(places)), len(places))
    total, count = np.zeros((h, w)), np.zeros((h, w))
    for d, (r, q) in zip(drops, places):
        total[r : r + patch, q : q + patch] += d
        count[r : r + patch, q : q + patch] += 1
    grid = np.asarray(drops, np.float32).reshape(len(rows), len(cols))
    return Explanation(
        x[0],
        (total / np.maximum(count, 1)).astype(np.float32),
        t,
        base,
        extra={
            "method": "occlusion",
            "grid": grid,
            "rows": rows,
            "cols": cols,
            "patch": patch,
            "stride": stride,
            "score": score,
        },
    )

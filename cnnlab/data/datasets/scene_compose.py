"""Composing scenes: small 28x28 items (Fashion-MNIST clothes, MNIST digits) pasted onto a
larger black canvas, with the per-pixel class mask, the boxes and the labels they imply.

The rule, for each scene drawn from ``rng``:

1. the number of items ``k`` is uniform in ``1..max_items``;
2. each item is a uniformly drawn source image, resized (bilinear, antialiased: the resize
   of :func:`cnnlab.images.resize_matrix`) by a factor uniform in ``scale``, then cropped to
   its tight box: the rows and columns holding an "on" pixel (value above ``threshold``,
   a fraction of full brightness);
3. it is placed at a uniform position where its box keeps at least one background pixel
   between itself and every box already placed (no two items touch, so masks never
   overlap and every box holds exactly one item); after ``tries`` failed positions the item
   is dropped, except the first one, which always fits;
4. the canvas takes the item's pixels, and the mask ``label + 1`` where the item is on
   (0 is background).

Items are then listed left to right (by box centre, ties top to bottom): the boxes, the
labels and the caption share that order.
"""

from __future__ import annotations

import sys

import numpy as np
from tqdm.auto import tqdm

__all__ = ["compose_scenes"]


def _resizer(size: int):
    from cnnlab.images import resize_matrix

    cache = {}

    def resize(img: np.ndarray, n: int) -> np.ndarray:
        if n not in cache:
            cache[n] = resize_matrix(size, n)
        r = cache[n]
        return np.clip(r @ img @ r.T, 0.0, 1.0)

    return resize


def _apart(box, placed, gap: int) -> bool:
    x0, y0, x1, y1 = box
    for a0, b0, a1, b1 in placed:
        if x0 < a1 + gap and a0 < x1 + gap and y0 < b1 + gap and b0 < y1 + gap:
            return False
    return True


def compose_scenes(
    images: np.ndarray,
    labels: np.ndarray,
    n: int,
    *,
    seed: int = 0,
    size: int = 64,
    max_items: int = 4,
    scale: tuple = (0.6, 1.0),
    threshold: float = 0.25,
    tries: int = 50,
    progress: bool = False,
) -> dict:
    """``n`` scenes from source ``images`` (M, h, w) uint8 with ``labels`` (M,), drawn by the
    rule of the module docstring from ``numpy.random.default_rng(seed)``.

    Returns a dict of arrays: ``images`` (n, size, size) uint8, ``masks`` (n, size, size)
    uint8 (0 background, ``label + 1`` on an item), ``boxes`` (K, 4) int16 as
    ``(x1, y1, x2, y2)`` pixel corners (``x2``, ``y2`` exclusive, torchvision's convention),
    ``labels`` (K,) int64, ``sources`` (K,) int64 (the source image of each item) and
    ``offsets`` (n + 1,) int64: scene i owns items ``offsets[i]:offsets[i + 1]``.
    """
    images = np.asarray(images)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"compose_scenes: images must be (M, h, h), got {images.shape}")
    side = images.shape[1]
    if not 0 < scale[0] <= scale[1] or round(side * scale[1]) > size:
        raise ValueError(
            f"compose_scenes: scale must be 0 < low <= high with items of at most size={size} "
            f"pixels, got scale={scale} for {side}-pixel items"
        )
    if max_items < 1:
        raise ValueError(f"compose_scenes: max_items must be at least 1, got {max_items}")
    rng = np.random.default_rng(seed)
    resize = _resizer(side)
    canvas = np.zeros((n, size, size), np.uint8)
    masks = np.zeros((n, size, size), np.uint8)
    boxes, item_labels, sources, offsets = [], [], [], [0]
    for i in tqdm(range(n), desc="scenes", disable=not progress, file=sys.stderr, leave=False):
        k = int(rng.integers(1, max_items + 1))
        placed = []  # (x1, y1, x2, y2, label, source)
        while len(placed) < k:
            j = int(rng.integers(len(images)))
            s = int(round(side * rng.uniform(*scale)))
            item = resize(images[j].astype(np.float32) / 255.0, s)
            on = item > threshold
            if not on.any():
                continue
            rows, cols = np.flatnonzero(on.any(1)), np.flatnonzero(on.any(0))
            item = item[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
            on = on[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
            h, w = item.shape
            for _ in range(tries if placed else 1):
                y, x = int(rng.integers(size - h + 1)), int(rng.integers(size - w + 1))
                box = (x, y, x + w, y + h)
                if _apart(box, [p[:4] for p in placed], gap=1):
                    break
            else:
                k -= 1  # no room: the scene holds one item fewer
                continue
            canvas[i, y : y + h, x : x + w] = np.round(item * 255).astype(np.uint8)
            masks[i, y : y + h, x : x + w][on] = int(labels[j]) + 1
            placed.append((*box, int(labels[j]), j))
        placed.sort(key=lambda p: (p[0] + p[2], p[1] + p[3]))  # left to right by centre
        boxes += [p[:4] for p in placed]
        item_labels += [p[4] for p in placed]
        sources += [p[5] for p in placed]
        offsets.append(len(boxes))
    return {
        "images": canvas,
        "masks": masks,
        "boxes": np.asarray(boxes, np.int16).reshape(-1, 4),
        "labels": np.asarray(item_labels, np.int64),
        "sources": np.asarray(sources, np.int64),
        "offsets": np.asarray(offsets, np.int64),
    }

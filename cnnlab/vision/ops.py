"""torchvision's box ops: ``box_area``, ``box_iou``, ``nms`` and ``batched_nms``.

Boxes are ``(x1, y1, x2, y2)`` with ``0 <= x1 < x2`` and ``0 <= y1 < y2``, torchvision's
convention: a box's width is ``x2 - x1`` (no "+ 1"), so the scenes' boxes, whose ``x2`` and
``y2`` are exclusive pixel corners, measure their own pixels.

Non-maximum suppression (greedy, as torchvision's): visit the boxes by decreasing score; keep
a box unless it overlaps a box already kept by an IoU *strictly above* ``iou_threshold``.
``batched_nms`` does this per category: boxes of different ``idxs`` never suppress each other
(the standard trick: shift each category's boxes by its own offset, larger than every
coordinate, so boxes of different categories cannot overlap, then run one ``nms``).

These work on NumPy arrays or Tensors (their ``.array``) and return NumPy arrays: they are
decisions, not differentiable maps.
"""

from __future__ import annotations

import numpy as np

__all__ = ["batched_nms", "box_area", "box_iou", "nms"]


def _boxes(boxes, name: str) -> np.ndarray:
    b = np.asarray(getattr(boxes, "array", boxes), dtype=np.float64)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"cnnlab.vision.ops.{name}: boxes must be (N, 4), got shape {b.shape}")
    return b


def box_area(boxes) -> np.ndarray:
    """Area ``(x2 - x1) * (y2 - y1)`` of each box.

    Shape: boxes (N, 4) -> (N,) float64.
    """
    b = _boxes(boxes, "box_area")
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def box_iou(boxes1, boxes2) -> np.ndarray:
    """Intersection over union of every pair: ``iou[i, j]`` of ``boxes1[i]`` and ``boxes2[j]``.

    Shape: boxes1 (N, 4), boxes2 (M, 4) -> (N, M) float64.
    """
    a, b = _boxes(boxes1, "box_iou"), _boxes(boxes2, "box_iou")
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0.0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def nms(boxes, scores, iou_threshold: float) -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, by decreasing score.

    Args:
        boxes: (N, 4) boxes ``(x1, y1, x2, y2)``.
        scores: (N,) their scores.
        iou_threshold: a box is dropped if its IoU with a kept, higher-scored box is above this.

    Shape: boxes (N, 4), scores (N,) -> (K,) int64.
    """
    b = _boxes(boxes, "nms")
    s = np.asarray(getattr(scores, "array", scores), dtype=np.float64).reshape(-1)
    if len(s) != len(b):
        raise ValueError(f"cnnlab.vision.ops.nms: {len(b)} boxes but {len(s)} scores")
    order = np.argsort(-s, kind="stable")
    iou = box_iou(b, b)
    alive = np.ones(len(b), bool)
    keep = []
    for i in order:
        if not alive[i]:
            continue
        keep.append(i)
        alive &= ~(iou[i] > iou_threshold)  # i itself goes too (IoU 1), as intended
    return np.asarray(keep, np.int64)


def batched_nms(boxes, scores, idxs, iou_threshold: float) -> np.ndarray:
    """:func:`nms` within each category ``idxs``: boxes of different categories never
    suppress each other. Returns the kept indices by decreasing score.

    Args:
        boxes: (N, 4) boxes ``(x1, y1, x2, y2)``.
        scores: (N,) their scores.
        idxs: (N,) integer category of each box.
        iou_threshold: as for :func:`nms`.

    Shape: boxes (N, 4), scores (N,), idxs (N,) -> (K,) int64.
    """
    b = _boxes(boxes, "batched_nms")
    k = np.asarray(getattr(idxs, "array", idxs)).reshape(-1)
    if len(k) != len(b):
        raise ValueError(f"cnnlab.vision.ops.batched_nms: {len(b)} boxes but {len(k)} idxs")
    if len(b) == 0:
        return np.zeros(0, np.int64)
    offset = k.astype(np.float64)[:, None] * (b.max() + 1.0)
    return nms(b + offset, scores, iou_threshold)

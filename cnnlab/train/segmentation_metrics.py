"""Segmentation metrics: the per-pixel confusion matrix, per-class and mean intersection over
union (IoU, the Jaccard index), and a meter that accumulates them over batches.

Class c's IoU is ``TP / (TP + FP + FN)`` = ``cm[c, c] / (row c + column c - cm[c, c])``
over all pixels of all images (PASCAL VOC's and Cityscapes' convention: one confusion
matrix over the data set, not a mean of per-image scores). A class that appears neither in
the targets nor in the predictions has no IoU (NaN) and is left out of the mean.
"""

from __future__ import annotations

import numpy as np

from cnnlab import backend
from cnnlab.train.metrics import confusion_matrix

__all__ = ["SegmentationMeter", "iou_per_class", "mean_iou", "pixel_confusion_matrix"]


def _host(a) -> np.ndarray:
    return backend.to_numpy(getattr(a, "array", a))


def pixel_confusion_matrix(target, pred, num_classes: int, ignore_index: int = -100):
    """``cm[i, j]`` = pixels of true class i predicted as j; pixels whose target is
    ``ignore_index`` are skipped.

    Shape:
        - target: (N, H, W) ints; pred: (N, C, H, W) scores or (N, H, W) labels;
          returns (num_classes, num_classes) int64
    """
    t = _host(target).astype(np.int64)
    p = _host(pred)
    if p.ndim == t.ndim + 1:
        p = p.argmax(axis=1)
    if p.shape != t.shape:
        raise ValueError(
            f"pixel_confusion_matrix: predictions {p.shape} and targets {t.shape} differ"
        )
    keep = t != ignore_index
    return confusion_matrix(t[keep], p[keep].astype(np.int64), num_classes)


def iou_per_class(cm) -> np.ndarray:
    """IoU of each class from a confusion matrix (NaN where the class is nowhere).

    Shape:
        - cm: (C, C); returns (C,) float64
    """
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    union = cm.sum(axis=0) + cm.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / np.maximum(union, 1), np.nan)


def mean_iou(cm) -> float:
    """Mean of :func:`iou_per_class` over the classes that occur (NaN if none does)."""
    iou = iou_per_class(cm)
    return float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan")


class SegmentationMeter:
    """Accumulates a pixel confusion matrix over batches: ``update(logits, target)``, then
    ``miou``, ``iou`` (per class) and ``pixel_acc``."""

    def __init__(self, num_classes: int, ignore_index: int = -100) -> None:
        if num_classes < 1:
            raise ValueError(f"SegmentationMeter: num_classes must be >= 1, got {num_classes}")
        self.num_classes, self.ignore_index = int(num_classes), ignore_index
        self.cm = np.zeros((self.num_classes, self.num_classes), np.int64)

    def update(self, pred, target) -> None:
        self.cm += pixel_confusion_matrix(target, pred, self.num_classes, self.ignore_index)

    @property
    def iou(self) -> np.ndarray:
        return iou_per_class(self.cm)

    @property
    def miou(self) -> float:
        return mean_iou(self.cm)

    @property
    def pixel_acc(self) -> float:
        total = self.cm.sum()
        return float(np.trace(self.cm) / total) if total else float("nan")

"""Detection metrics: average precision per class at IoU thresholds, mAP@0.5 and COCO's
mAP@[.5:.95], computed as pycocotools computes them (``COCOeval`` with ``iouType='bbox'``,
area range "all", at most ``max_dets`` detections per image and class; no crowd boxes).

For each image, class and IoU threshold t, the detections are visited by decreasing score,
and each is matched to the unmatched ground-truth box of that class with the highest IoU,
if that IoU is at least t: a true positive; otherwise a false positive. Over the data set,
all detections of the class, by decreasing score (ties in image order), give the
precision and recall after each; the precision is made non-increasing from the right (the
"interpolated" precision: the best precision at this recall or beyond), and the AP is its
mean at the 101 recalls 0, 0.01, ..., 1 (0 where that recall is never reached). A class
with no ground-truth box has no AP and is left out of the means. mAP@[.5:.95] averages the
AP over t = 0.50, 0.55, ..., 0.95.
"""

from __future__ import annotations

import numpy as np

from cnnlab.vision.ops import box_iou

__all__ = ["COCO_IOUS", "DetectionMeter", "average_precision", "mean_average_precision"]

COCO_IOUS = np.linspace(0.5, 0.95, 10)  # as pycocotools: 0.50, 0.55, ..., 0.95
RECALLS = np.linspace(0.0, 1.0, 101)


def average_precision(tp: np.ndarray, scores: np.ndarray, num_gt: int) -> float:
    """101-point interpolated AP of one class from its detections' ``tp`` flags and
    ``scores`` over the whole data set (in image order) and its ``num_gt`` boxes (NaN if 0).

    Shape: tp (D,) bool, scores (D,) -> float.
    """
    if num_gt == 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores), kind="mergesort")  # stable, as pycocotools
    hits = np.asarray(tp, bool)[order]
    tps, fps = np.cumsum(hits), np.cumsum(~hits)
    recall = tps / num_gt
    precision = tps / np.maximum(tps + fps, np.spacing(1))
    precision = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
    at = np.searchsorted(recall, RECALLS, side="left")
    q = np.zeros(len(RECALLS))
    found = at < len(precision)
    q[found] = precision[at[found]]
    return float(q.mean())


def _match(det_boxes, gt_boxes, thresholds) -> np.ndarray:
    """(T, D) true-positive flags of detections (already by decreasing score) against the
    ground truth of one image and class, greedily as pycocotools."""
    tp = np.zeros((len(thresholds), len(det_boxes)), bool)
    if len(det_boxes) == 0 or len(gt_boxes) == 0:
        return tp
    iou = box_iou(det_boxes, gt_boxes)
    for ti, t in enumerate(thresholds):
        taken = np.zeros(len(gt_boxes), bool)
        for d in range(len(det_boxes)):
            best, m = min(t, 1 - 1e-10), -1
            for g in range(len(gt_boxes)):
                if not taken[g] and iou[d, g] >= best:
                    best, m = iou[d, g], g
            if m >= 0:
                taken[m], tp[ti, d] = True, True
    return tp


class DetectionMeter:
    """Accumulates detections and ground truth image by image; then :meth:`compute`.

    Args:
        num_classes: number of object classes (labels ``0 .. num_classes - 1``).
        thresholds: IoU thresholds (default COCO's ten).
        max_dets: the most detections kept per image and class, by score (COCO: 100).
    """

    def __init__(self, num_classes: int, thresholds=COCO_IOUS, max_dets: int = 100) -> None:
        if num_classes < 1:
            raise ValueError(f"DetectionMeter: num_classes must be >= 1, got {num_classes}")
        self.num_classes, self.max_dets = int(num_classes), int(max_dets)
        self.thresholds = np.asarray(thresholds, np.float64)
        self._tp = [[] for _ in range(self.num_classes)]  # per class: (T, D) arrays
        self._scores = [[] for _ in range(self.num_classes)]
        self.num_gt = np.zeros(self.num_classes, np.int64)
        self.images = 0

    def update(self, det_boxes, det_scores, det_labels, gt_boxes, gt_labels) -> None:
        """One image: detections ``(D, 4)``, ``(D,)``, ``(D,)`` and ground truth ``(G, 4)``,
        ``(G,)``; boxes ``(x1, y1, x2, y2)``."""
        det_boxes = np.asarray(det_boxes, np.float64).reshape(-1, 4)
        det_scores = np.asarray(det_scores, np.float64).reshape(-1)
        det_labels = np.asarray(det_labels, np.int64).reshape(-1)
        gt_boxes = np.asarray(gt_boxes, np.float64).reshape(-1, 4)
        gt_labels = np.asarray(gt_labels, np.int64).reshape(-1)
        if not len(det_boxes) == len(det_scores) == len(det_labels):
            raise ValueError(
                f"DetectionMeter.update: {len(det_boxes)} boxes, {len(det_scores)} scores and "
                f"{len(det_labels)} labels differ"
            )
        if len(gt_boxes) != len(gt_labels):
            raise ValueError(
                f"DetectionMeter.update: {len(gt_boxes)} ground-truth boxes but "
                f"{len(gt_labels)} labels"
            )
        self.images += 1
        for k in range(self.num_classes):
            d, g = det_labels == k, gt_labels == k
            self.num_gt[k] += int(g.sum())
            if not d.any():
                continue
            order = np.argsort(-det_scores[d], kind="mergesort")[: self.max_dets]
            boxes, scores = det_boxes[d][order], det_scores[d][order]
            self._tp[k].append(_match(boxes, gt_boxes[g], self.thresholds))
            self._scores[k].append(scores)

    def ap(self) -> np.ndarray:
        """AP per IoU threshold and class (NaN for a class without ground truth).

        Shape: (T, num_classes) float64.
        """
        out = np.full((len(self.thresholds), self.num_classes), np.nan)
        for k in range(self.num_classes):
            tp = np.concatenate(self._tp[k], axis=1) if self._tp[k] else np.zeros((len(out), 0))
            scores = np.concatenate(self._scores[k]) if self._scores[k] else np.zeros(0)
            for ti in range(len(self.thresholds)):
                out[ti, k] = average_precision(tp[ti], scores, int(self.num_gt[k]))
        return out

    def compute(self) -> dict:
        """``{'map', 'map50', 'map75', 'ap50' (per class), 'ap' (per class, mean over the
        thresholds), 'images', 'num_gt'}``; the means skip classes without ground truth."""
        ap = self.ap()

        def at(t):
            hit = np.flatnonzero(np.isclose(self.thresholds, t))
            return ap[hit[0]] if len(hit) else np.full(self.num_classes, np.nan)

        def mean(a):
            return float(np.nanmean(a)) if np.isfinite(a).any() else float("nan")

        per_class = np.array([mean(ap[:, k]) for k in range(self.num_classes)])
        return {
            "map": mean(ap),
            "map50": mean(at(0.5)),
            "map75": mean(at(0.75)),
            "ap50": at(0.5).tolist(),
            "ap": per_class.tolist(),
            "images": self.images,
            "num_gt": self.num_gt.tolist(),
        }


def mean_average_precision(detections: list, ground_truth: list, num_classes: int) -> dict:
    """:meth:`DetectionMeter.compute` over lists of per-image dicts: ``detections`` with
    ``boxes``, ``scores``, ``labels``; ``ground_truth`` with ``boxes``, ``labels``."""
    if len(detections) != len(ground_truth):
        raise ValueError(
            f"mean_average_precision: {len(detections)} images of detections but "
            f"{len(ground_truth)} of ground truth"
        )
    meter = DetectionMeter(num_classes)
    for d, g in zip(detections, ground_truth):
        meter.update(d["boxes"], d["scores"], d["labels"], g["boxes"], g["labels"])
    return meter.compute()

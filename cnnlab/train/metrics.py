"""Classification metrics on NumPy arrays: accuracy, top-k, confusion matrix, running means.

Every function accepts logits (N, C) or predicted labels (N,), as arrays or Tensors.
"""

from __future__ import annotations

import numpy as np

from cnnlab import backend

__all__ = [
    "RunningAverage",
    "accuracy",
    "confusion_matrix",
    "per_class_accuracy",
    "topk_accuracy",
]


def _host(a) -> np.ndarray:
    return backend.to_numpy(getattr(a, "array", a))


def _labels(pred) -> np.ndarray:
    pred = _host(pred)
    return pred.argmax(axis=1) if pred.ndim == 2 else pred.astype(np.int64)


def accuracy(pred, target) -> float:
    """Fraction of samples whose predicted class equals the target.

    Shape:
        - pred: (N, C) logits/probabilities or (N,) labels; target: (N,) ints
    """
    p, t = _labels(pred), _host(target).astype(np.int64)
    if p.shape != t.shape:
        raise ValueError(f"accuracy: predictions {p.shape} and targets {t.shape} differ")
    return float((p == t).mean()) if t.size else float("nan")


def topk_accuracy(logits, target, topk=(1, 5)) -> list[float]:
    """For each k, the fraction of samples whose target is among the k highest scores.

    Ties are broken by index, like ``argsort``. Shape:
        - logits: (N, C); target: (N,); returns one float per k
    """
    s, t = _host(logits), _host(target).astype(np.int64)
    if s.ndim != 2 or s.shape[0] != t.shape[0]:
        raise ValueError(
            f"topk_accuracy: need logits (N, C) and targets (N,), got {s.shape}, {t.shape}"
        )
    # rank of the target = number of classes scoring strictly higher
    target_score = s[np.arange(len(t)), t]
    rank = (s > target_score[:, None]).sum(axis=1)
    return [float((rank < k).mean()) for k in topk]


def confusion_matrix(target, pred, num_classes: int | None = None) -> np.ndarray:
    """``cm[i, j]`` = number of samples of true class i predicted as class j.

    Shape:
        - target: (N,); pred: (N, C) or (N,); returns (num_classes, num_classes) int64
    """
    t, p = _host(target).astype(np.int64), _labels(pred)
    if num_classes is None:
        num_classes = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    if t.size and (t.min() < 0 or p.min() < 0 or t.max() >= num_classes or p.max() >= num_classes):
        raise ValueError(f"confusion_matrix: labels must lie in [0, {num_classes})")
    counts = np.bincount(num_classes * t + p, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def per_class_accuracy(cm: np.ndarray) -> np.ndarray:
    """Recall of each class from a confusion matrix (NaN for a class with no samples).

    Shape:
        - cm: (C, C); returns (C,) float64
    """
    cm = np.asarray(cm)
    totals = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(cm) / np.maximum(totals, 1), np.nan)


class RunningAverage:
    """Weighted running mean: ``update(value, n)`` adds ``n`` samples of mean ``value``."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.total = 0.0
        self.count = 0

    def update(self, value: float, n: int = 1) -> None:
        self.total += float(value) * n
        self.count += n

    @property
    def avg(self) -> float:
        return self.total / self.count if self.count else float("nan")

    def __repr__(self) -> str:
        return f"RunningAverage(avg={self.avg:.4g}, count={self.count})"

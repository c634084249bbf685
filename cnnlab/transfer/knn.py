"""k-nearest-neighbour classification on fixed features (cosine similarity), the other
off-the-shelf baseline: no training at all."""

from __future__ import annotations

import numpy as np

__all__ = ["knn_classify"]


def knn_classify(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    test_features: np.ndarray,
    test_labels: np.ndarray | None = None,
    k: int = 10,
    num_classes: int | None = None,
    chunk: int = 1024,
) -> dict:
    """Label each test feature by a vote of its ``k`` most cosine-similar training features
    (votes weighted by similarity; ``k`` is capped at the number of training features).

    Returns ``{'pred', 'acc', 'k'}`` (``acc`` None without ``test_labels``).

    Shape:
        - train_features: (N, D); test_features: (M, D); pred: (M,)
    """
    a = np.asarray(train_features, np.float32)
    b = np.asarray(test_features, np.float32)
    y = np.asarray(train_labels, np.int64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or len(a) != len(y):
        raise ValueError(
            f"knn_classify: features must be (N, D) and (M, D) with N labels, got {a.shape}, "
            f"{b.shape} and {y.shape}"
        )
    if k < 1:
        raise ValueError(f"knn_classify: k must be at least 1, got {k}")
    k = min(int(k), len(a))
    n_cls = int(num_classes) if num_classes is not None else int(y.max()) + 1
    a = a / (np.linalg.norm(a, axis=1, keepdims=True) + 1e-12)
    b = b / (np.linalg.norm(b, axis=1, keepdims=True) + 1e-12)
    pred = np.empty(len(b), np.int64)
    for s in range(0, len(b), chunk):
        sim = b[s : s + chunk] @ a.T
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        votes = np.zeros((len(sim), n_cls), np.float64)
        rows = np.arange(len(sim))[:, None]
        np.add.at(votes, (np.broadcast_to(rows, top.shape), y[top]), sim[rows, top])
        pred[s : s + chunk] = votes.argmax(axis=1)
    acc = None if test_labels is None else float((pred == np.asarray(test_labels)).mean())
    return {"pred": pred, "acc": acc, "k": k}

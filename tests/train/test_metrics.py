"""Metrics against scikit-learn and plain NumPy."""

import numpy as np
import pytest

import cnnlab
from cnnlab.train import metrics

sklearn_metrics = pytest.importorskip("sklearn.metrics")


def _data(n=500, c=7, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, c)).astype(np.float32)
    target = rng.integers(0, c, n)
    return logits, target


def test_accuracy_matches_sklearn_for_logits_labels_and_tensors():
    logits, target = _data()
    want = sklearn_metrics.accuracy_score(target, logits.argmax(1))
    assert metrics.accuracy(logits, target) == pytest.approx(want)
    assert metrics.accuracy(logits.argmax(1), target) == pytest.approx(want)
    assert metrics.accuracy(cnnlab.tensor(logits), cnnlab.tensor(target)) == pytest.approx(want)
    with pytest.raises(ValueError, match="accuracy"):
        metrics.accuracy(logits[:3], target)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_topk_matches_sklearn(k):
    logits, target = _data()
    want = sklearn_metrics.top_k_accuracy_score(target, logits, k=k, labels=np.arange(7))
    assert metrics.topk_accuracy(logits, target, (k,))[0] == pytest.approx(want)


def test_topk_one_equals_accuracy_and_is_monotone():
    logits, target = _data(seed=3)
    accs = metrics.topk_accuracy(logits, target, (1, 2, 3, 5))
    assert accs[0] == pytest.approx(metrics.accuracy(logits, target))
    assert accs == sorted(accs)


def test_confusion_matrix_matches_sklearn_and_loops():
    logits, target = _data()
    cm = metrics.confusion_matrix(target, logits, 7)
    np.testing.assert_array_equal(
        cm, sklearn_metrics.confusion_matrix(target, logits.argmax(1), labels=np.arange(7))
    )
    loop = np.zeros((7, 7), int)
    for t, p in zip(target, logits.argmax(1)):
        loop[t, p] += 1
    np.testing.assert_array_equal(cm, loop)
    assert cm.sum() == len(target)


def test_confusion_matrix_rejects_out_of_range_labels():
    with pytest.raises(ValueError, match="confusion_matrix"):
        metrics.confusion_matrix(np.array([0, 3]), np.array([0, 1]), 3)


def test_per_class_accuracy_is_recall_and_nan_for_empty_classes():
    logits, target = _data()
    cm = metrics.confusion_matrix(target, logits, 8)  # class 7 never occurs
    pca = metrics.per_class_accuracy(cm)
    want = sklearn_metrics.recall_score(target, logits.argmax(1), average=None, labels=np.arange(7))
    np.testing.assert_allclose(pca[:7], want)
    assert np.isnan(pca[7])


def test_running_average_is_weighted():
    avg = metrics.RunningAverage()
    assert np.isnan(avg.avg)
    avg.update(1.0, 3)
    avg.update(3.0, 1)
    assert avg.avg == pytest.approx(1.5)
    avg.reset()
    assert avg.count == 0

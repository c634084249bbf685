import numpy as np
import pytest

from cnnlab.train.segmentation_metrics import (
    SegmentationMeter,
    iou_per_class,
    mean_iou,
    pixel_confusion_matrix,
)


def _loop_iou(target, pred, c):
    """IoU per class, pixel by pixel: |pred = k and target = k| / |pred = k or target = k|."""
    out = []
    for k in range(c):
        inter = union = 0
        for t, p in zip(target.reshape(-1), pred.reshape(-1)):
            if t == -100:
                continue
            inter += (t == k) and (p == k)
            union += (t == k) or (p == k)
        out.append(inter / union if union else np.nan)
    return np.array(out)


def _data(seed=0, c=4):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((3, c, 5, 6))
    target = rng.integers(0, c - 1, (3, 5, 6))  # class c - 1 never a target
    target[0, 0, :3] = -100
    return logits, target


def test_iou_matches_a_pixel_loop_and_the_mean_skips_absent_classes():
    logits, target = _data()
    pred = logits.argmax(1)
    cm = pixel_confusion_matrix(target, logits, 4)
    np.testing.assert_allclose(iou_per_class(cm), _loop_iou(target, pred, 4), equal_nan=True)
    assert mean_iou(cm) == pytest.approx(np.nanmean(_loop_iou(target, pred, 4)))
    cm = pixel_confusion_matrix(np.zeros((1, 2, 2), int), np.zeros((1, 2, 2), int), 3)
    assert np.isnan(iou_per_class(cm)[1:]).all() and mean_iou(cm) == 1.0


def test_confusion_matrix_matches_sklearn():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    logits, target = _data(seed=1)
    keep = target != -100
    ref = sklearn_metrics.confusion_matrix(
        target[keep], logits.argmax(1)[keep], labels=list(range(4))
    )
    np.testing.assert_array_equal(pixel_confusion_matrix(target, logits, 4), ref)
    ref_iou = sklearn_metrics.jaccard_score(
        target[keep], logits.argmax(1)[keep], labels=[0, 1, 2], average=None
    )
    np.testing.assert_allclose(iou_per_class(ref)[:3], ref_iou)


def test_meter_accumulates_over_batches_like_one_big_batch():
    logits, target = _data(seed=2)
    meter = SegmentationMeter(4)
    for i in range(3):
        meter.update(logits[i : i + 1], target[i : i + 1])
    whole = pixel_confusion_matrix(target, logits, 4)
    np.testing.assert_array_equal(meter.cm, whole)
    assert meter.miou == pytest.approx(mean_iou(whole))
    keep = target != -100
    assert meter.pixel_acc == pytest.approx((logits.argmax(1) == target)[keep].mean())


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"pixel_confusion_matrix: predictions \(2, 3\)"):
        pixel_confusion_matrix(np.zeros((2, 2), int), np.zeros((2, 3), int), 2)
    with pytest.raises(ValueError, match="SegmentationMeter: num_classes must be >= 1"):
        SegmentationMeter(0)

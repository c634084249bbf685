"""mAP against pycocotools' COCOeval on the same random predictions, and hand-worked cases."""

import contextlib
import io

import numpy as np
import pytest

from cnnlab.train.detection_metrics import (
    DetectionMeter,
    average_precision,
    mean_average_precision,
)


def _random_case(seed, images=40, classes=4):
    """Ground truth of 0-4 boxes per image, and detections: jittered copies of some ground
    truth (right or wrong class), some duplicates and some boxes anywhere, random scores."""
    rng = np.random.default_rng(seed)
    gts, dets = [], []
    for _ in range(images):
        k = int(rng.integers(0, 5))
        xy = rng.uniform(0, 40, (k, 2))
        wh = rng.uniform(6, 24, (k, 2))
        gb = np.concatenate([xy, xy + wh], axis=1)
        gl = rng.integers(0, classes, k)
        keep = rng.random(k) < 0.8
        jitter = rng.normal(0, 3, (k, 4))
        db = (gb + jitter)[keep]
        dl = np.where(rng.random(k) < 0.85, gl, rng.integers(0, classes, k))[keep]
        m = int(rng.integers(0, 4))
        xy2 = rng.uniform(0, 50, (m, 2))
        db = np.concatenate([db, np.concatenate([xy2, xy2 + rng.uniform(4, 20, (m, 2))], 1)])
        dl = np.concatenate([dl, rng.integers(0, classes, m)])
        db, dl = np.concatenate([db, db[:1] + 1.0]), np.concatenate([dl, dl[:1]])  # a duplicate
        db[:, 2:] = np.maximum(db[:, 2:], db[:, :2] + 0.5)
        gts.append({"boxes": gb, "labels": gl})
        dets.append({"boxes": db, "scores": rng.random(len(db)).round(2), "labels": dl})
    return gts, dets


def _coco(gts, dets, classes):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    def xywh(b):
        return [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]

    anns, results, aid = [], [], 1
    for i, g in enumerate(gts):
        for b, k in zip(g["boxes"], g["labels"]):
            w, h = b[2] - b[0], b[3] - b[1]
            anns.append({"id": aid, "image_id": i, "category_id": int(k), "bbox": xywh(b),
                         "area": float(w * h), "iscrowd": 0})  # fmt: skip
            aid += 1
    for i, d in enumerate(dets):
        for b, s, k in zip(d["boxes"], d["scores"], d["labels"]):
            results.append(
                {"image_id": i, "category_id": int(k), "bbox": xywh(b), "score": float(s)}
            )
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {
            "images": [{"id": i} for i in range(len(gts))],
            "annotations": anns,
            "categories": [{"id": k} for k in range(classes)],
        }
        gt.createIndex()
        ev = COCOeval(gt, gt.loadRes(results), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_pycocotools_on_the_same_predictions(seed):
    pytest.importorskip("pycocotools")
    gts, dets = _random_case(seed)
    ours = mean_average_precision(dets, gts, 4)
    ev = _coco(gts, dets, 4)
    assert ours["map"] == pytest.approx(ev.stats[0], abs=1e-9)
    assert ours["map50"] == pytest.approx(ev.stats[1], abs=1e-9)
    assert ours["map75"] == pytest.approx(ev.stats[2], abs=1e-9)
    # per class at IoU 0.5: precision[T, R, K, area 'all', maxDets 100], mean over recalls
    coco_ap50 = ev.eval["precision"][0, :, :, 0, -1].mean(axis=0)
    np.testing.assert_allclose(ours["ap50"], coco_ap50, atol=1e-9)


def test_perfect_detections_score_one_and_misses_lower_recall():
    gts = [{"boxes": np.array([[0, 0, 10, 10], [20, 20, 30, 36]]), "labels": np.array([0, 1])}]
    perfect = [
        {"boxes": gts[0]["boxes"], "scores": np.array([0.9, 0.8]), "labels": gts[0]["labels"]}
    ]
    r = mean_average_precision(perfect, gts, 3)
    assert r["map"] == 1.0 and r["map50"] == 1.0
    assert np.isnan(r["ap50"][2])  # no ground truth: no AP, left out of the mean
    half = [{"boxes": gts[0]["boxes"][:1], "scores": np.array([0.9]), "labels": np.array([0])}]
    assert mean_average_precision(half, gts, 3)["map50"] == 0.5  # class 1 found nowhere


def test_ap_by_hand_101_point_interpolation():
    # 2 ground-truth boxes; detections by score: hit, miss, hit -> precision 1, 1/2, 2/3 at
    # recall 1/2, 1/2, 1; interpolated: 1 up to recall 0.5 (51 points), 2/3 beyond (50 points)
    ap = average_precision(np.array([True, False, True]), np.array([0.9, 0.8, 0.7]), 2)
    assert ap == pytest.approx((51 * 1.0 + 50 * 2 / 3) / 101)


def test_a_box_is_matched_once_and_the_iou_threshold_counts():
    meter = DetectionMeter(1, thresholds=[0.5, 0.9])
    gt = np.array([[0.0, 0.0, 10.0, 10.0]])
    dets = np.array([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 8.0]])  # IoU 1 and 0.8
    meter.update(dets, [0.9, 0.8], [0, 0], gt, [0])
    ap = meter.ap()
    assert ap[0, 0] == 1.0 and ap[1, 0] == 1.0  # the duplicate is a false positive after recall 1
    meter = DetectionMeter(1, thresholds=[0.5, 0.9])
    meter.update(dets[1:], [0.8], [0], gt, [0])
    assert meter.ap()[:, 0].tolist() == [1.0, 0.0]


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="2 boxes, 1 scores"):
        DetectionMeter(2).update(np.zeros((2, 4)), [0.5], [0, 1], np.zeros((0, 4)), [])
    with pytest.raises(ValueError, match="num_classes"):
        DetectionMeter(0)

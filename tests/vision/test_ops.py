"""Box ops against plain-loop references: box_area, box_iou, nms and batched_nms."""

import numpy as np
import pytest

import cnnlab
from cnnlab.vision import ops


def _random_boxes(n, seed, spread=30.0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, spread, (n, 2))
    return np.concatenate([xy, xy + rng.uniform(2, 15, (n, 2))], axis=1)


def _iou_loop(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def _nms_loop(boxes, scores, thr):
    """The textbook algorithm: take the best remaining box, drop those overlapping it."""
    rest = sorted(range(len(boxes)), key=lambda i: (-scores[i], i))
    keep = []
    while rest:
        best = rest.pop(0)
        keep.append(best)
        rest = [i for i in rest if _iou_loop(boxes[best], boxes[i]) <= thr]
    return keep


def test_box_area_and_iou_match_loops():
    a, b = _random_boxes(7, 0), _random_boxes(5, 1)
    np.testing.assert_allclose(ops.box_area(a), [(x2 - x1) * (y2 - y1) for x1, y1, x2, y2 in a])
    ref = np.array([[_iou_loop(p, q) for q in b] for p in a])
    np.testing.assert_allclose(ops.box_iou(a, b), ref, rtol=1e-12)
    assert ops.box_iou(a, np.zeros((0, 4))).shape == (7, 0)
    # Tensors too; a box with itself: 1; disjoint: 0
    t = cnnlab.tensor(np.array([[0.0, 0, 2, 2], [5, 5, 6, 6]]))
    np.testing.assert_allclose(ops.box_iou(t, t), np.eye(2))


@pytest.mark.parametrize("seed,thr", [(0, 0.5), (1, 0.3), (2, 0.7), (3, 0.0)])
def test_nms_matches_the_loop(seed, thr):
    boxes = _random_boxes(40, seed, spread=20.0)  # crowded: many overlaps
    scores = np.random.default_rng(seed + 10).random(40)
    keep = ops.nms(boxes, scores, thr)
    assert keep.dtype == np.int64
    assert keep.tolist() == _nms_loop(boxes, scores, thr)
    kept = boxes[keep]
    iou = ops.box_iou(kept, kept) - np.eye(len(kept))
    assert (iou <= thr).all()  # no two kept boxes overlap above the threshold


def test_nms_keeps_at_the_threshold_and_breaks_ties_by_index():
    boxes = np.array([[0.0, 0, 10, 10], [0, 0, 10, 5], [0, 0, 10, 10]])  # IoU 0.5, then 1
    assert ops.nms(boxes, [0.9, 0.8, 0.9], 0.5).tolist() == [0, 1]  # 0.5 is not above 0.5
    assert ops.nms(boxes, [0.9, 0.8, 0.9], 0.49).tolist() == [0]
    assert ops.nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []


def test_batched_nms_is_nms_per_category():
    boxes = _random_boxes(60, 4, spread=15.0)
    scores = np.random.default_rng(5).random(60)
    idxs = np.random.default_rng(6).integers(0, 3, 60)
    keep = ops.batched_nms(boxes, scores, idxs, 0.4)
    expected = []
    for k in range(3):
        members = np.flatnonzero(idxs == k)
        expected += members[_nms_loop(boxes[members], scores[members], 0.4)].tolist()
    assert sorted(keep.tolist()) == sorted(expected)
    assert np.all(np.diff(scores[keep]) <= 0)  # by decreasing score
    same = np.array([[0.0, 0, 10, 10], [0, 0, 10, 10]])
    assert ops.batched_nms(same, [0.9, 0.8], [0, 1], 0.5).tolist() == [0, 1]


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"vision.ops.nms: boxes must be \(N, 4\)"):
        ops.nms(np.zeros((3, 5)), np.zeros(3), 0.5)
    with pytest.raises(ValueError, match="3 boxes but 2 scores"):
        ops.nms(np.zeros((3, 4)), np.zeros(2), 0.5)
    with pytest.raises(ValueError, match="3 boxes but 1 idxs"):
        ops.batched_nms(np.zeros((3, 4)), np.zeros(3), [0], 0.5)

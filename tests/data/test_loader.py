import threading

import numpy as np
import pytest

import cnnlab
from cnnlab.data import ArrayDataset, DataLoader, Dataset, Subset, TensorDataset
from cnnlab.data import transforms as T


def array_dataset(n=23, transform=None):
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, size=(n, 6, 6), dtype=np.uint8)
    return ArrayDataset(data, np.arange(n) % 10, transform=transform)


class SlowPath(Dataset):
    """Per-item dataset (no get_batch): sample i is an image filled with i."""

    def __init__(self, n=10, fail_at=None):
        self.n, self.fail_at = n, fail_at

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise RuntimeError(f"broken sample {i}")
        return np.full((1, 2, 2), i, np.float32), i


def collect(loader):
    return [(x.array.copy(), y.array.copy()) for x, y in loader]


@pytest.mark.parametrize("prefetch, workers", [(0, 0), (2, 0), (3, 2)])
def test_batching_and_drop_last(prefetch, workers):
    ds = array_dataset()
    loader = DataLoader(ds, batch_size=5, prefetch=prefetch, num_workers=workers)
    batches = collect(loader)
    assert len(loader) == 5 and len(batches) == 5
    x, y = batches[0]
    assert x.shape == (5, 1, 6, 6) and x.dtype == np.float32 and y.dtype == np.int64
    assert batches[-1][0].shape[0] == 3
    np.testing.assert_allclose(np.concatenate([b[0] for b in batches])[:, 0], ds.data / 255)
    dropped = DataLoader(ds, batch_size=5, drop_last=True, prefetch=prefetch)
    assert len(dropped) == 4 and [b[0].shape[0] for b in collect(dropped)] == [5] * 4


def test_fast_path_equals_per_item_path():
    ds = array_dataset(transform=T.Compose([T.RandomCrop(6, padding=1), T.Normalize(0.5, 0.2)]))
    fast = collect(DataLoader(ds, batch_size=4, shuffle=True, seed=3))
    ds.transform = T.Normalize(0.5, 0.2)  # deterministic: per-item and batch must agree
    a = collect(DataLoader(ds, batch_size=4, shuffle=True, seed=3))
    ds.transform = lambda img: (img - 0.5) / 0.2  # no batch form: per-item path
    b = collect(DataLoader(ds, batch_size=4, shuffle=True, seed=3))
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_allclose(xa, xb, rtol=1e-6)
        np.testing.assert_array_equal(ya, yb)
    assert len(fast) == len(a)


def test_seeded_shuffle_is_reproducible_and_changes_per_epoch():
    ds = array_dataset()
    loader = DataLoader(ds, batch_size=4, shuffle=True, seed=11)
    e0, e1 = collect(loader), collect(loader)
    labels0 = np.concatenate([y for _, y in e0])
    assert sorted(labels0.tolist()) == sorted(ds.targets.tolist())
    assert not np.array_equal(labels0, np.concatenate([y for _, y in e1]))
    again = DataLoader(ds, batch_size=4, shuffle=True, seed=11)
    np.testing.assert_array_equal(np.concatenate([y for _, y in collect(again)]), labels0)
    again.set_epoch(0)
    np.testing.assert_array_equal(np.concatenate([y for _, y in collect(again)]), labels0)
    cnnlab.manual_seed(5)
    s1 = DataLoader(ds, shuffle=True).seed
    cnnlab.manual_seed(5)
    assert DataLoader(ds, shuffle=True).seed == s1
    unshuffled = collect(DataLoader(ds, batch_size=23))
    np.testing.assert_array_equal(unshuffled[0][1], ds.targets)


@pytest.mark.parametrize("prefetch", [0, 2])
def test_state_round_trip_resumes_exactly(prefetch):
    ds = array_dataset(transform=T.Compose([T.RandomHorizontalFlip(), T.RandomAffine(20)]))
    ref = DataLoader(ds, batch_size=4, shuffle=True, seed=1, prefetch=prefetch)
    full = collect(ref) + collect(ref)  # two epochs
    loader = DataLoader(ds, batch_size=4, shuffle=True, seed=1, prefetch=prefetch)
    collect(loader)
    it = iter(loader)
    first = [next(it) for _ in range(2)]
    state = loader.state_dict()
    assert state == {"seed": 1, "epoch": 1, "batch": 2}
    del it
    resumed = DataLoader(ds, batch_size=4, shuffle=True, seed=999, prefetch=prefetch)
    resumed.load_state_dict(state)
    rest = collect(resumed)
    got = [(x.array, y.array) for x, y in first] + rest
    for (xa, ya), (xb, yb) in zip(full[6:], got, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert resumed.state_dict() == {"seed": 1, "epoch": 2, "batch": 0}


@pytest.mark.parametrize("prefetch, workers", [(0, 0), (2, 0), (2, 3)])
def test_worker_exception_propagates(prefetch, workers):
    loader = DataLoader(
        SlowPath(10, fail_at=6), batch_size=2, prefetch=prefetch, num_workers=workers
    )
    it = iter(loader)
    for _ in range(3):
        next(it)
    with pytest.raises(RuntimeError, match="broken sample 6"):
        next(it)
    with pytest.raises(StopIteration):
        next(it)


def test_abandoned_iterator_stops_its_threads():
    before = {t for t in threading.enumerate() if t.name.startswith("cnnlab-loader")}
    loader = DataLoader(SlowPath(40), batch_size=2, prefetch=3, num_workers=2)
    for i, _ in enumerate(loader):
        if i == 1:
            break
    for t in threading.enumerate():
        if t.name.startswith("cnnlab-loader") and t not in before:
            t.join(timeout=5)
            assert not t.is_alive()


def test_per_item_path_collate_and_custom_collate():
    x, y = next(iter(DataLoader(SlowPath(5), batch_size=3)))
    assert x.shape == (3, 1, 2, 2) and y.dtype == np.int64
    np.testing.assert_array_equal(y.array, [0, 1, 2])
    loader = DataLoader(SlowPath(5), batch_size=2, collate_fn=lambda s: (np.array([len(s)]),))
    assert [b[0].array.item() for b in loader] == [2, 2, 1]


def test_tensor_dataset_and_subset_fast_paths():
    feats = np.arange(20, dtype=np.float32).reshape(10, 2)
    batches = list(DataLoader(TensorDataset(feats, np.arange(10)), batch_size=4))
    assert [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    sub = Subset(array_dataset(), [3, 1, 4])
    ((x, y),) = DataLoader(sub, batch_size=3)
    np.testing.assert_array_equal(y.array, [3, 1, 4])


def test_loader_rejects_batch_size_zero():
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(array_dataset(), batch_size=0)


def test_sampler_batch_sampler_and_unbatched_loading():
    from cnnlab.data import BatchSampler, SequentialSampler

    ds = SlowPath(7)
    by_sampler = DataLoader(ds, batch_size=3, sampler=[6, 0, 3, 1])
    assert len(by_sampler) == 2
    assert [b[1].numpy().tolist() for b in by_sampler] == [[6, 0, 3], [1]]
    batches = DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 4, False))
    assert [b[1].numpy().tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6]]
    single = list(DataLoader(ds, batch_size=None))
    assert len(single) == 7 and single[2][0].shape == (1, 2, 2) and single[2][1] == 2
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=[0], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_size=2, batch_sampler=[[0]])
    with pytest.raises(ValueError, match="drop_last"):
        DataLoader(ds, batch_size=None, drop_last=True)


def test_pytorch_arguments_accepted_and_worker_init_called():
    seen = []
    loader = DataLoader(
        SlowPath(4),
        batch_size=2,
        shuffle=True,
        num_workers=2,
        pin_memory=True,
        worker_init_fn=seen.append,
        prefetch_factor=2,
        persistent_workers=True,
        generator=np.random.default_rng(0),
    )
    assert sorted(np.concatenate([b[1].numpy() for b in loader]).tolist()) == [0, 1, 2, 3]
    assert seen == [0, 1] and loader.prefetch == 4 and len(loader.dataset) == 4
    with pytest.raises(ValueError, match="prefetch_factor"):
        DataLoader(SlowPath(4), prefetch_factor=2)


def test_iterable_dataset_is_batched_in_order():
    from cnnlab.data import IterableDataset

    class Stream(IterableDataset):
        def __iter__(self):
            return iter((np.float32(i), i) for i in range(5))

    batches = list(DataLoader(Stream(), batch_size=2))
    assert [b[1].numpy().tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(), shuffle=True)


def test_manual_seed_after_building_the_loader_fixes_its_order():
    # tutorials build their DataLoaders first and call torch.manual_seed later
    def first_epoch():
        cnnlab.rand(5)  # other draws before the loader is built change nothing
        loader = DataLoader(TensorDataset(cnnlab.arange(20)), batch_size=5, shuffle=True)
        cnnlab.manual_seed(3)
        return [b[0].tolist() for b in loader]

    assert first_epoch() == first_epoch()
    seeded = DataLoader(TensorDataset(cnnlab.arange(4)), shuffle=True, seed=7)
    assert seeded.seed == 7


def test_manual_seed_after_a_first_peek_still_fixes_the_training_order():
    # regression: the CIFAR-10 tutorial takes one batch to show, then seeds, then trains;
    # the loader kept the seed drawn for the peek, so the training order was not seeded
    def training_epochs():
        cnnlab.manual_seed(int(np.random.default_rng().integers(1000)))  # unseeded peek
        loader = DataLoader(TensorDataset(cnnlab.arange(20)), batch_size=5, shuffle=True)
        next(iter(loader))
        cnnlab.manual_seed(3)
        return [[b[0].tolist() for b in loader] for _ in range(2)]

    first, again = training_epochs(), training_epochs()
    assert first == again and first[0] != first[1]


def test_seedless_loader_resumes_with_the_generator_state():
    ds = array_dataset(transform=T.RandomHorizontalFlip())
    cnnlab.manual_seed(4)
    ref = DataLoader(ds, batch_size=4, shuffle=True)
    full = collect(ref) + collect(ref)
    cnnlab.manual_seed(4)
    loader = DataLoader(ds, batch_size=4, shuffle=True)
    it = iter(loader)
    first = [next(it) for _ in range(2)]
    state, rng_state = loader.state_dict(), cnnlab.backend.get_rng_state()
    assert state["redraw"] and state["batch"] == 2
    del it
    cnnlab.manual_seed(99)
    resumed = DataLoader(ds, batch_size=4, shuffle=True, seed=5)
    resumed.load_state_dict(state)
    cnnlab.backend.set_rng_state(rng_state)
    got = [(x.array, y.array) for x, y in first] + collect(resumed) + collect(resumed)
    for (xa, ya), (xb, yb) in zip(full, got, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)

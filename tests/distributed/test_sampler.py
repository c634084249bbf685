"""DistributedSampler, the sharded DataLoader and the evaluation slices (no MPI needed)."""

import numpy as np
import pytest

from cnnlab.data import ArrayDataset, DataLoader
from cnnlab.distributed import DistributedDataLoader, DistributedSampler, shard_range


def _shards(n, world, epoch=0, **kw):
    samplers = [DistributedSampler(range(n), world, r, seed=5, **kw) for r in range(world)]
    for s in samplers:
        s.set_epoch(epoch)
    return [s.indices() for s in samplers]


@pytest.mark.parametrize("n,world", [(12, 3), (10, 4), (7, 2), (3, 5)])
def test_shards_equal_size_cover_and_disjoint_when_divisible(n, world):
    shards = _shards(n, world)
    sizes = {len(s) for s in shards}
    assert sizes == {-(-n // world)}  # equal: every rank takes as many steps
    joined = np.concatenate(shards)
    assert set(joined.tolist()) == set(range(n))  # every sample is seen
    if n % world == 0:
        assert len(joined) == n  # and none twice
    else:  # padding repeats only as many samples as needed
        assert len(joined) - n == world * -(-n // world) - n


def test_drop_last_cuts_instead_of_padding():
    shards = _shards(10, 4, drop_last=True)
    joined = np.concatenate(shards)
    assert [len(s) for s in shards] == [2, 2, 2, 2]
    assert len(set(joined.tolist())) == 8


def test_every_rank_draws_the_same_permutation_and_it_changes_per_epoch():
    a0, a1 = _shards(20, 2, epoch=0), _shards(20, 2, epoch=1)
    # rank r takes positions r, r + N, ... of one permutation shared by all ranks
    perm0 = np.random.default_rng([5, 0]).permutation(20)
    np.testing.assert_array_equal(a0[0], perm0[0::2])
    np.testing.assert_array_equal(a0[1], perm0[1::2])
    assert not np.array_equal(a0[0], a1[0])
    assert set(a1[0].tolist()).isdisjoint(a1[1].tolist())


def test_no_shuffle_is_the_natural_order():
    s = DistributedSampler(range(6), 2, 1, shuffle=False)
    assert list(s) == [1, 3, 5]


@pytest.mark.parametrize("kw", [{"num_replicas": 2, "rank": 2}, {"num_replicas": 0, "rank": 0}])
def test_bad_rank_is_refused(kw):
    with pytest.raises(ValueError, match="rank"):
        DistributedSampler(range(4), **kw)


def test_empty_dataset_is_refused():
    with pytest.raises(ValueError, match="0 samples cannot be shared by 2 ranks"):
        DistributedSampler([], 2, 0)


def _dataset(n=40):
    rng = np.random.default_rng(0)
    return ArrayDataset(rng.integers(0, 256, (n, 4, 4)).astype(np.uint8), rng.integers(0, 3, n))


def test_one_rank_loader_gives_dataloader_batches():
    ds = _dataset()
    plain = DataLoader(ds, 8, shuffle=True, seed=2)
    ours = DistributedDataLoader(ds, 8, shuffle=True, seed=2, num_replicas=1, rank=0)
    assert len(ours) == len(plain)
    for _ in range(2):  # two epochs
        for (xa, ya), (xb, yb) in zip(plain, ours):
            np.testing.assert_array_equal(xa.numpy(), xb.numpy())
            np.testing.assert_array_equal(ya.numpy(), yb.numpy())


def test_two_rank_batches_make_up_the_one_rank_double_batch():
    ds = _dataset()
    one = DataLoader(ds, 8, shuffle=True, seed=2)
    two = [
        DistributedDataLoader(ds, 4, shuffle=True, seed=2, num_replicas=2, rank=r) for r in (0, 1)
    ]
    assert len(two[0]) == len(two[1]) == len(one)
    for (x, _), (x0, _), (x1, _) in zip(one, *two):
        got = np.concatenate([x0.numpy(), x1.numpy()]).reshape(8, -1)
        want = x.numpy().reshape(8, -1)
        assert sorted(map(bytes, got)) == sorted(map(bytes, want))


def test_last_partial_batch_is_the_same_size_on_every_rank():
    ds = _dataset(23)  # 12 per rank after padding: batches of 5, 5, 2
    sizes = [
        [len(y) for _, y in DistributedDataLoader(ds, 5, num_replicas=2, rank=r)] for r in (0, 1)
    ]
    assert sizes == [[5, 5, 2], [5, 5, 2]]


def test_loader_resumes_mid_epoch():
    ds = _dataset()
    a = DistributedDataLoader(ds, 4, shuffle=True, seed=1, num_replicas=2, rank=1)
    it = iter(a)
    next(it)
    state = a.state_dict()
    rest = [y.numpy() for _, y in it]
    b = DistributedDataLoader(ds, 4, shuffle=True, seed=9, num_replicas=2, rank=1)
    b.load_state_dict(state)
    again = [y.numpy() for _, y in b]
    assert len(again) == len(rest) == len(a) - 1
    for u, v in zip(rest, again):
        np.testing.assert_array_equal(u, v)


def test_shuffle_needs_a_shared_seed():
    with pytest.raises(ValueError, match="seed shared by all ranks"):
        DistributedDataLoader(_dataset(), 4, shuffle=True, num_replicas=2, rank=0)


@pytest.mark.parametrize("n,world", [(10, 3), (2000, 2), (1, 2)])
def test_shard_range_splits_without_overlap(n, world):
    parts = [shard_range(n, world, r) for r in range(world)]
    np.testing.assert_array_equal(np.concatenate(parts), np.arange(n))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1

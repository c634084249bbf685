import numpy as np
import pytest

import cnnlab
from cnnlab.data.sampler import (
    BatchSampler,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

torch = pytest.importorskip("torch")
tud = pytest.importorskip("torch.utils.data")


def test_sequential_and_batch_sampler_match_torch():
    data = range(10)
    assert list(SequentialSampler(data)) == list(tud.SequentialSampler(data))
    for drop_last in (False, True):
        ours = BatchSampler(SequentialSampler(data), 3, drop_last)
        theirs = tud.BatchSampler(tud.SequentialSampler(data), 3, drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(data, 0, False)


def test_random_sampler_permutes_and_is_seeded():
    data = range(20)
    cnnlab.manual_seed(1)
    a = list(RandomSampler(data))
    cnnlab.manual_seed(1)
    assert list(RandomSampler(data)) == a and sorted(a) == list(range(20)) and a != sorted(a)
    assert list(RandomSampler(data, generator=3)) == list(RandomSampler(data, generator=3))
    chained = list(RandomSampler(range(4), num_samples=10, generator=0))
    assert len(chained) == 10 and sorted(chained[:4]) == [0, 1, 2, 3]  # permutations, chained
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=50, generator=0))
    assert len(drawn) == 50 and set(drawn) <= {0, 1, 2}
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(data, num_samples=0)


def test_subset_random_and_weighted_samplers():
    s = SubsetRandomSampler([5, 7, 9], generator=np.random.default_rng(0))
    assert sorted(s) == [5, 7, 9] and len(s) == 3
    w = WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=0)
    counts = np.bincount(list(w), minlength=3)
    assert counts[0] == 0 and 2.6 < counts[2] / counts[1] < 3.4
    assert sorted(WeightedRandomSampler([1, 1, 0, 1], 3, replacement=False, generator=0)) == [
        0,
        1,
        3,
    ]
    with pytest.raises(ValueError, match="without replacement from 2 non-zero"):
        WeightedRandomSampler([1, 0, 1], 3, replacement=False)

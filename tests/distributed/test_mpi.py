"""Gradient buckets and the single-process fallback of cnnlab.distributed (no mpirun)."""

import numpy as np
import pytest

import cnnlab
from cnnlab import distributed as dist
from cnnlab import nn
from cnnlab.distributed import mpi


@pytest.fixture
def fresh_state(monkeypatch):
    """A process that has not joined MPI yet (init runs again in the test)."""
    monkeypatch.setitem(mpi._state, "initialized", False)
    monkeypatch.setitem(mpi._state, "comm", None)
    for name in mpi._MPIRUN_ENV:
        monkeypatch.delenv(name, raising=False)


def _params(*shapes, dtype=np.float32):
    return [nn.Parameter(np.zeros(s, dtype)) for s in shapes]


def test_buckets_are_few_contiguous_and_in_backward_order():
    params = _params((256, 256), (256,), (128, 64), (10,))  # 256 KiB, 1 KiB, 32 KiB, 40 B
    buckets = dist.GradientBuckets(params, bucket_mb=0.25)
    assert len(buckets) == 2  # not one per parameter
    first, second = buckets.buckets
    # reverse order: the last layers (whose gradients backward finishes first) come first
    assert [p is q for (p, _, _), q in zip(first[1], params[::-1])] == [True, True, True]
    assert first[0].size == 10 + 128 * 64 + 256 and first[0].flags.c_contiguous
    assert second[1][0][0] is params[0] and second[0].size == 256 * 256


def test_a_parameter_larger_than_the_cap_gets_its_own_bucket():
    params = _params((4,), (1000, 1000), (4,))
    buckets = dist.GradientBuckets(params, bucket_mb=0.001)
    assert [len(slots) for _, slots in buckets.buckets] == [1, 1, 1]


def test_one_dtype_per_bucket():
    params = _params((4,)) + _params((4,), dtype=np.float64) + _params((4,))
    buckets = dist.GradientBuckets(params)
    assert [b.dtype for b, _ in buckets.buckets] == [np.float32, np.float64, np.float32]


def test_frozen_parameters_are_left_out():
    a, b = _params((3,), (3,))
    b.requires_grad = False
    buckets = dist.GradientBuckets([a, b])
    assert [p for _, slots in buckets.buckets for p, _, _ in slots] == [a]


def test_bad_bucket_size_is_refused():
    with pytest.raises(ValueError, match="bucket_mb must be positive, got 0"):
        dist.GradientBuckets(_params((2,)), bucket_mb=0)


def test_single_process_without_mpirun(fresh_state):
    assert dist.init() is None
    assert (dist.rank(), dist.world_size()) == (0, 1)
    x = np.arange(4.0)
    assert dist.all_reduce(x) is x and x.tolist() == [0, 1, 2, 3]
    model = nn.Linear(3, 2)
    before = model.weight.numpy().copy()
    dist.broadcast_parameters(model)
    loss = model(cnnlab.tensor(np.ones((2, 3), np.float32))).sum()
    loss.backward()
    grad = np.asarray(model.weight.grad).copy()
    dist.all_reduce_gradients(model)
    np.testing.assert_array_equal(np.asarray(model.weight.grad), grad)
    np.testing.assert_array_equal(model.weight.numpy(), before)
    dist.check_same("anything", "configuration")
    dist.barrier()
    dist.abort()  # a no-op in one process


def test_without_mpi4py_everything_runs_as_one_process(fresh_state, monkeypatch):
    monkeypatch.setattr(mpi, "available", lambda: False)
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")  # even under mpirun
    assert dist.init() is None and dist.world_size() == 1


def test_without_mpi4py_required_init_says_what_to_install(fresh_state, monkeypatch):
    monkeypatch.setattr(mpi, "available", lambda: False)
    with pytest.raises(ImportError, match=r"pip install 'cnnlab\[mpi\]'"):
        dist.init(required=True)


def test_all_reduce_refuses_what_it_cannot_reduce_in_place():
    with pytest.raises(ValueError, match="C-contiguous NumPy array"):
        dist.all_reduce(np.zeros((4, 4))[:, ::2])
    with pytest.raises(ValueError, match="C-contiguous NumPy array"):
        dist.all_reduce([1.0, 2.0])

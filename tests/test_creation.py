"""The factories as PyTorch's: shapes, dtypes (and how they are inferred), ``device=``,
``requires_grad=``, seeding, and the errors for bad sizes and devices."""

import numpy as np
import pytest

import cnnlab
from tests.helpers import requires_torch, torch

SIZED = ["zeros", "ones", "empty", "rand", "randn"]


@pytest.mark.parametrize("name", SIZED)
def test_sized_factories_take_ints_tuples_dtype_device_and_requires_grad(name):
    fn = getattr(cnnlab, name)
    assert fn(2, 3).shape == fn((2, 3)).shape == fn([2, 3]).shape == fn(cnnlab.Size([2, 3])).shape
    t = fn(2, 3, dtype=cnnlab.float64, device="cpu", requires_grad=True)
    assert t.dtype == np.float64 and t.device == "cpu" and t.requires_grad and t.is_leaf
    assert fn(4, device=cnnlab.device("cpu")).dtype == np.float32


@requires_torch
@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.full((2, 3), 7),
        lambda m: m.full((2,), 1.5),
        lambda m: m.full((2,), True),
        lambda m: m.full((2,), 2, dtype=m.float32),
        lambda m: m.arange(5),
        lambda m: m.arange(1, 4, 0.5),
        lambda m: m.arange(0.0, 3),
        lambda m: m.arange(10, dtype=m.float32),
        lambda m: m.eye(3),
        lambda m: m.eye(2, 4),
        lambda m: m.linspace(0, 1, 5),
        lambda m: m.linspace(-2, 2, steps=4, dtype=m.float64),
        lambda m: m.logspace(0, 2, 3),
        lambda m: m.tensor([1, 2, 3]),
        lambda m: m.tensor([1.0, 2.0]),
        lambda m: m.tensor([[True, False]]),
        lambda m: m.tensor(3.5),
        lambda m: m.tensor([1, 2], dtype=m.float32),
        lambda m: m.zeros_like(m.ones(2, 3, dtype=m.int64)),
        lambda m: m.ones_like(m.ones(2), dtype=m.float64),
        lambda m: m.full_like(m.ones(2, 2), 3.0),
        lambda m: m.empty(2, 2).shape,
        lambda m: m.as_tensor([1.0, 2.0]),
        lambda m: m.from_numpy(np.arange(3)),
    ],
)
def test_values_and_dtypes_equal_torch(call):
    ours, theirs = call(cnnlab), call(torch)
    if isinstance(theirs, tuple):
        assert tuple(ours) == tuple(theirs)
        return
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "name,args,dtype",
    [
        ("randint", (0, 10, (50,)), np.int64),
        ("randint", (5, (3, 4)), np.int64),
        ("randperm", (10,), np.int64),
        ("rand_like", (cnnlab.ones(2, 3, dtype=cnnlab.float64),), np.float64),
        ("randn_like", (cnnlab.ones(2, 3),), np.float32),
        ("randint_like", (cnnlab.ones(2, 3), 4), np.float32),
    ],
)
def test_random_factories_are_seeded_and_typed(name, args, dtype):
    cnnlab.manual_seed(3)
    a = getattr(cnnlab, name)(*args)
    cnnlab.manual_seed(3)
    b = getattr(cnnlab, name)(*args)
    assert a.dtype == dtype and np.array_equal(a.numpy(), b.numpy())


def test_random_values_have_the_right_ranges():
    cnnlab.manual_seed(0)
    r = cnnlab.randint(3, 7, (1000,)).numpy()
    assert r.min() == 3 and r.max() == 6
    assert sorted(cnnlab.randperm(6).tolist()) == list(range(6))
    n = cnnlab.normal(2.0, 0.5, size=(20000,)).numpy()
    assert abs(n.mean() - 2.0) < 0.02 and abs(n.std() - 0.5) < 0.02
    assert cnnlab.normal(cnnlab.zeros(3, 2), 1.0).shape == (3, 2)


def test_tensor_copies_and_as_tensor_shares():
    a = np.zeros(3, np.float32)
    t, s = cnnlab.tensor(a), cnnlab.as_tensor(a)
    a[0] = 5
    assert t[0].item() == 0 and s[0].item() == 5
    x = cnnlab.ones(2)
    assert cnnlab.as_tensor(x) is x
    y = cnnlab.tensor(x)
    assert y is not x and not np.shares_memory(y.numpy(), x.numpy())


@pytest.mark.parametrize(
    "call,err,match",
    [
        (lambda: cnnlab.zeros(2, -1), ValueError, "zeros: size must be non-negative ints"),
        (lambda: cnnlab.ones(2.5), ValueError, "ones: size must be non-negative ints"),
        (lambda: cnnlab.randint(5, 5, (2,)), ValueError, "expected low < high"),
        (lambda: cnnlab.randint(5), TypeError, "randint"),
        (lambda: cnnlab.zeros(2, device="mps"), RuntimeError, "cannot run on device 'mps'"),
        (lambda: cnnlab.tensor([1.0], device="xla"), RuntimeError, "device 'xla'"),
        (lambda: cnnlab.ones(2, dtype=cnnlab.int64, requires_grad=True), TypeError, "floating"),
        (lambda: cnnlab.from_numpy([1, 2]), TypeError, "expected a numpy.ndarray"),
    ],
)
def test_factories_name_what_is_wrong(call, err, match):
    with pytest.raises(err, match=match):
        call()


@pytest.mark.skipif(cnnlab.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_device_without_a_gpu_says_so():
    with pytest.raises(RuntimeError, match="cannot run on device 'cuda'.*is_available"):
        cnnlab.randn(2, device="cuda")

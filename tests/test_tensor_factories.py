"""new_* factories and the random in-place fills (normal_, uniform_) as PyTorch's."""

import numpy as np
import pytest

import cnnlab


def test_random_fills_are_seeded_and_shaped():
    w = cnnlab.empty(2000)
    cnnlab.manual_seed(1)
    assert w.normal_(3.0, 0.5) is w
    a = w.numpy().copy()
    assert abs(a.mean() - 3.0) < 0.05 and abs(a.std() - 0.5) < 0.05 and w.dtype == np.float32
    cnnlab.manual_seed(1)
    np.testing.assert_array_equal(cnnlab.empty(2000).normal_(3.0, 0.5).numpy(), a)
    u = cnnlab.zeros(2000, dtype=cnnlab.float64).uniform_(-1, 2).numpy()
    assert u.min() >= -1 and u.max() < 2 and u.dtype == np.float64
    p = cnnlab.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf tensor that requires grad"):
        p.normal_()
    with cnnlab.no_grad():
        p.uniform_(0, 0.5)
    assert p.requires_grad and p.max().item() < 0.5


def test_new_factories_keep_dtype_and_device():
    x = cnnlab.ones(2, dtype=cnnlab.float64)
    assert x.new_zeros(3, 2).dtype == np.float64 and x.new_zeros((3, 2)).shape == (3, 2)
    assert x.new_ones(2).tolist() == [1.0, 1.0] and x.new_empty(1).dtype == np.float64
    assert x.new_full((2,), 7).tolist() == [7.0, 7.0]
    assert x.new_tensor([1, 2]).dtype == np.float64
    assert x.new_zeros(2, dtype=cnnlab.int64).dtype == np.int64
    assert x.pin_memory() is x

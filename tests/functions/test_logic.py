"""Comparisons and predicates as torch.*: same answers as PyTorch, no gradient."""

import numpy as np
import pytest

import cnnlab
from tests.helpers import requires_torch, torch

A = np.array([1.0, np.nan, np.inf, -2.0, 0.0], np.float32)
B = np.array([1.0, 2.0, np.inf, 3.0, 1e-9], np.float32)


@requires_torch
@pytest.mark.parametrize(
    "name", ["eq", "ne", "gt", "ge", "lt", "le", "isclose", "logical_and", "logical_or"]
)
def test_binary_predicates_equal_torch(name):
    ours = getattr(cnnlab, name)(cnnlab.tensor(A), cnnlab.tensor(B))
    theirs = getattr(torch, name)(torch.tensor(A), torch.tensor(B))
    assert ours.dtype == np.bool_ and not ours.requires_grad
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@requires_torch
@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite", "logical_not"])
def test_unary_predicates_equal_torch(name):
    ours = getattr(cnnlab, name)(cnnlab.tensor(A)).numpy()
    np.testing.assert_array_equal(ours, getattr(torch, name)(torch.tensor(A)).numpy())


@requires_torch
def test_allclose_and_equal_use_torch_tolerances():
    a = np.array([1.0, 2.0], np.float32)
    for b in (a + 1e-6, a + 1e-3, a):
        ta, tb = torch.tensor(a), torch.tensor(b)
        assert cnnlab.allclose(cnnlab.tensor(a), cnnlab.tensor(b)) == torch.allclose(ta, tb)
        assert cnnlab.equal(cnnlab.tensor(a), cnnlab.tensor(b)) == torch.equal(ta, tb)
    assert not cnnlab.equal(cnnlab.ones(2), cnnlab.ones(3))
    assert cnnlab.tensor(a).allclose(cnnlab.tensor(a + 1e-7))


@requires_torch
def test_unique_with_counts_and_inverse_equals_torch():
    x = np.array([3, 1, 3, 2, 1, 3])
    ours = cnnlab.unique(cnnlab.tensor(x), return_inverse=True, return_counts=True)
    theirs = torch.unique(torch.tensor(x), return_inverse=True, return_counts=True)
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.numpy(), t.numpy())
    assert cnnlab.tensor(x).unique().tolist() == [1, 2, 3]


def test_type_predicates():
    assert cnnlab.is_tensor(cnnlab.ones(1)) and not cnnlab.is_tensor(np.ones(1))
    assert cnnlab.is_floating_point(cnnlab.ones(1)) and not cnnlab.is_floating_point(
        cnnlab.tensor([1])
    )
    assert cnnlab.is_nonzero(cnnlab.tensor([2.0]))

"""Reductions: sum, mean, var, max/amax/min with ties, against PyTorch."""

import numpy as np
import pytest

import cnnlab
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity

DIMS = [None, 0, 1, -1, (0, 2)]


def _x():
    return seeded(3).permutation(60).reshape(3, 4, 5) / 7.0  # distinct values: no ties


@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("op", ["sum", "mean", "amax", "var"])
def test_reduce_gradcheck_and_parity(op, dim, keepdim):
    fn = lambda t: getattr(t, op)(dim=dim, keepdim=keepdim)  # noqa: E731
    check_gradients(fn, [_x()])
    if torch is None:
        pytest.skip("PyTorch is not installed")
    tdim = tuple(range(3)) if dim is None else dim

    def tfn(t):
        return getattr(t, op)(dim=tdim, keepdim=keepdim)

    torch_parity(fn, tfn, [_x().astype(np.float32)])


@requires_torch
@pytest.mark.parametrize("dim", [0, 1, 2, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_with_dim_returns_values_and_first_indices(dim, keepdim):
    x = np.round(seeded(4).standard_normal((3, 4, 5)), 0).astype(np.float32)  # many ties
    v, i = cnnlab.tensor(x).max(dim=dim, keepdim=keepdim)
    tv, ti = torch.tensor(x).max(dim=dim, keepdim=keepdim)
    np.testing.assert_array_equal(v.numpy(), tv.numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    torch_parity(
        lambda t: t.max(dim=dim, keepdim=keepdim)[0],
        lambda t: t.max(dim=dim, keepdim=keepdim)[0],
        [x],
    )
    torch_parity(
        lambda t: t.min(dim=dim, keepdim=keepdim)[0],
        lambda t: t.min(dim=dim, keepdim=keepdim)[0],
        [x],
    )


@requires_torch
def test_full_max_splits_gradient_among_ties_like_torch():
    x = np.array([[1.0, 3.0], [3.0, 2.0]], np.float32)
    torch_parity(lambda t: t.max(), lambda t: t.max(), [x])
    torch_parity(lambda t: t.min(), lambda t: t.min(), [x])


def test_argmax_gives_the_first_maximum_and_a_flat_index_without_dim():
    x = cnnlab.tensor([[1.0, 5.0, 5.0], [7.0, 0.0, 1.0]])
    np.testing.assert_array_equal(x.argmax(dim=1).numpy(), [1, 0])
    assert x.argmax().item() == 3


@pytest.mark.parametrize("dim", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_prod_gradcheck_and_parity(dim, keepdim):
    fn = lambda t: t.prod(dim=dim, keepdim=keepdim)  # noqa: E731
    x = _x() * 0.5 + 0.3
    np.testing.assert_allclose(
        fn(cnnlab.tensor(x)).numpy(),
        np.prod(x, axis=dim, keepdims=keepdim),
        rtol=1e-12,
    )
    check_gradients(fn, [x])
    if torch is not None and not isinstance(dim, tuple):  # torch.prod takes one dim
        tfn = (lambda t: t.prod()) if dim is None else (lambda t: t.prod(dim, keepdim))
        torch_parity(fn, tfn, [x.astype(np.float32)])


@requires_torch
def test_prod_gradient_is_exact_where_elements_are_zero():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 3.0]], np.float32)
    torch_parity(lambda t: t.prod(dim=1), lambda t: t.prod(dim=1), [x])
    torch_parity(lambda t: t.prod(), lambda t: t.prod(), [x[:1]])

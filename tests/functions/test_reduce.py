"""The torch.* reductions: signatures and named results as PyTorch's, values and indices
equal to torch's, float64 gradchecks and gradient parity for the gathered values."""

import numpy as np
import pytest

import cnnlab
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity


def _x(shape=(3, 5)):
    return seeded(11).permutation(int(np.prod(shape))).reshape(shape) / 7.0  # no ties


COMPOSITES = {  # name: (cnnlab fn, torch fn)
    "sort": (lambda t: cnnlab.sort(t, 1).values, lambda t: torch.sort(t, 1).values),
    "sort_desc": (
        lambda t: cnnlab.sort(t, 0, descending=True)[0],
        lambda t: torch.sort(t, 0, descending=True)[0],
    ),
    "topk": (lambda t: cnnlab.topk(t, 2).values, lambda t: torch.topk(t, 2).values),
    "topk_smallest": (
        lambda t: t.topk(2, dim=0, largest=False).values,
        lambda t: t.topk(2, dim=0, largest=False).values,
    ),
    "median": (lambda t: cnnlab.median(t), lambda t: torch.median(t)),
    "median_dim": (lambda t: t.median(1).values, lambda t: t.median(1).values),
    "kthvalue": (lambda t: t.kthvalue(2, 1).values, lambda t: t.kthvalue(2, 1).values),
    "logsumexp": (lambda t: cnnlab.logsumexp(t, 1), lambda t: torch.logsumexp(t, 1)),
    "logsumexp_keep": (
        lambda t: cnnlab.logsumexp(t, (0, 1), keepdim=True),
        lambda t: torch.logsumexp(t, (0, 1), keepdim=True),
    ),
    "amin": (lambda t: cnnlab.amin(t, 0), lambda t: torch.amin(t, 0)),
    "max_other": (lambda t: cnnlab.max(t, t.flip(1)), lambda t: torch.max(t, t.flip(1))),
    "min_dim": (lambda t: cnnlab.min(t, 1).values, lambda t: torch.min(t, 1).values),
    "std_old_overload": (lambda t: cnnlab.std(t, False), lambda t: torch.std(t, False)),
    "var_dim": (lambda t: cnnlab.var(t, 1, keepdim=True), lambda t: torch.var(t, 1, keepdim=True)),
    "mean_dtype": (
        lambda t: cnnlab.mean(t, 0, dtype=cnnlab.float64),
        lambda t: torch.mean(t, 0, dtype=torch.float64),
    ),
    "sum_tuple": (lambda t: cnnlab.sum(t, (0, 1)), lambda t: torch.sum(t, (0, 1))),
    "cumsum": (lambda t: cnnlab.cumsum(t, 1), lambda t: torch.cumsum(t, 1)),
    "norm": (lambda t: cnnlab.norm(t), lambda t: torch.norm(t)),
}


@pytest.mark.parametrize("name", list(COMPOSITES))
def test_reduction_gradcheck_and_parity(name):
    fn, tfn = COMPOSITES[name]
    check_gradients(fn, [_x()])
    if torch is not None:
        torch_parity(fn, tfn, [_x().astype(np.float32)])


@requires_torch
@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: m.sort(x, 1),
        lambda m, x: m.sort(x, 0, descending=True),
        lambda m, x: m.topk(x, 3, 1),
        lambda m, x: m.topk(x, 2, 0, largest=False),
        lambda m, x: m.max(x, 1),
        lambda m, x: m.min(x, 0, keepdim=True),
        lambda m, x: m.median(x, 1),
        lambda m, x: m.kthvalue(x, 3, 1),
    ],
)
def test_named_values_and_indices_equal_torch(call):
    x = _x().astype(np.float32)
    ours, theirs = call(cnnlab, cnnlab.tensor(x)), call(torch, torch.tensor(x))
    assert type(ours).__name__ == type(theirs).__name__
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    assert ours.indices.dtype == np.int64
    values, indices = ours  # still a pair
    assert values is ours.values


@requires_torch
def test_index_reductions_equal_torch():
    x = np.round(seeded(3).standard_normal((4, 6)), 0).astype(np.float32)  # with ties
    t, tt = cnnlab.tensor(x), torch.tensor(x)
    for name in ("argmax", "argmin"):
        for kw in ({}, {"dim": 1}, {"dim": 0, "keepdim": True}):
            ours = getattr(cnnlab, name)(t, **kw).numpy()
            np.testing.assert_array_equal(ours, getattr(torch, name)(tt, **kw).numpy())
    np.testing.assert_array_equal(
        cnnlab.argsort(t, dim=1, stable=True).numpy(), torch.argsort(tt, dim=1, stable=True).numpy()
    )
    np.testing.assert_array_equal(
        cnnlab.count_nonzero(t, 1).numpy(), torch.count_nonzero(tt, 1).numpy()
    )
    assert cnnlab.all(t > -10).item() and not cnnlab.any(t > 10).item()


def test_mean_of_integers_asks_for_a_dtype_as_torch():
    with pytest.raises(RuntimeError, match="floating dtype"):
        cnnlab.mean(cnnlab.tensor([1, 2, 3]))
    assert cnnlab.mean(cnnlab.tensor([1, 2, 3]), dtype=cnnlab.float32).item() == 2.0


def test_topk_and_kthvalue_check_k():
    x = cnnlab.tensor(_x())
    with pytest.raises(ValueError, match="topk: k must be in"):
        cnnlab.topk(x, 6)
    with pytest.raises(ValueError, match="kthvalue: k must be in"):
        cnnlab.kthvalue(x, 0)


def test_var_mean_and_std_mean_return_pairs():
    x = cnnlab.tensor(_x())
    v, m = cnnlab.var_mean(x, 1)
    np.testing.assert_allclose(v.numpy(), np.var(_x(), axis=1, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(m.numpy(), np.mean(_x(), axis=1), rtol=1e-5)
    s, _ = cnnlab.std_mean(x)
    np.testing.assert_allclose(s.item(), np.std(_x(), ddof=1), rtol=1e-5)


@requires_torch
@pytest.mark.parametrize("dtype", ["uint8", "int64", "bool", "float64"])
def test_descending_sort_and_topk_of_every_dtype_equal_torch(dtype):
    x = np.array([3, 0, 7, 1, 250, 2]).astype(dtype)
    ours = cnnlab.sort(cnnlab.tensor(x), descending=True, stable=True)
    theirs = torch.sort(torch.tensor(x), descending=True, stable=True)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    if dtype != "bool":
        top = cnnlab.topk(cnnlab.tensor(x), 2).indices.numpy()
        np.testing.assert_array_equal(top, torch.topk(torch.tensor(x), 2).indices.numpy())

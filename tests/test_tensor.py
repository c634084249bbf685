"""Tensor basics with PyTorch's semantics: comparisons, Python conversions, size, std/var/norm
and ``.grad`` as a Tensor."""

import numpy as np
import pytest

import cnnlab
from cnnlab import nn
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity


def test_comparisons_give_boolean_tensors_against_numpy():
    a = seeded(0).integers(0, 3, size=(4, 5))
    b = seeded(1).integers(0, 3, size=(4, 5))
    ta, tb = cnnlab.tensor(a), cnnlab.tensor(b)
    for ours, ref in [
        (ta == tb, a == b),
        (ta != tb, a != b),
        (ta < tb, a < b),
        (ta <= 1, a <= 1),
        (ta > tb, a > b),
        (ta >= tb, a >= b),
        ((ta == 1) & (tb == 2), (a == 1) & (b == 2)),
        ((ta == 1) | (tb == 2), (a == 1) | (b == 2)),
        (~(ta == 1), a != 1),
    ]:
        assert isinstance(ours, cnnlab.Tensor) and ours.dtype == np.bool_
        np.testing.assert_array_equal(ours.numpy(), ref)


def test_accuracy_idioms_from_pytorch():
    pred = cnnlab.tensor(np.array([0, 1, 2, 2]))
    y = cnnlab.tensor(np.array([0, 1, 1, 2]))
    assert (pred == y).sum().item() == 3
    assert (pred == y).float().mean().item() == pytest.approx(0.75)


def test_tensors_stay_hashable_by_identity():
    a, b = nn.Parameter(np.zeros(3)), nn.Parameter(np.zeros(3))
    assert len({a, b}) == 2 and {a: 1, b: 2}[b] == 2
    assert a in {a} and b not in {a}


def test_python_number_conversions_go_through_item():
    assert bool(cnnlab.tensor([0.0])) is False  # a one-element False mask is falsy
    assert bool(cnnlab.tensor(3.0)) is True  # and a 0-d tensor works
    assert float(cnnlab.tensor([2.5])) == 2.5
    assert int(cnnlab.tensor(7)) == 7
    assert [10, 20, 30][cnnlab.tensor(2)] == 30
    with pytest.raises(RuntimeError, match="more than one value is ambiguous"):
        bool(cnnlab.tensor([1.0, 0.0]))
    with pytest.raises(RuntimeError, match="no values is ambiguous"):
        bool(cnnlab.zeros(0))
    with pytest.raises(RuntimeError, match="2 elements cannot be converted"):
        float(cnnlab.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        [1, 2][cnnlab.tensor(1.0)]
    with pytest.raises(TypeError, match="0-d tensor"):
        len(cnnlab.tensor(1.0))


def test_size_is_the_shape_and_numel_the_count():
    t = cnnlab.zeros(2, 3, 4)
    assert t.size() == (2, 3, 4) and t.size(0) == 2 and t.size(-1) == 4
    assert t.numel() == 24 and t.dim() == 3


@pytest.mark.parametrize("dim", [None, 1, (0, 2)])
@pytest.mark.parametrize("kw", [{}, {"unbiased": False}, {"correction": 2}])
def test_var_and_std_against_numpy(dim, kw):
    x = seeded(2).standard_normal((3, 4, 5))
    ddof = kw.get("correction", 0 if kw else 1)
    axis = dim if not isinstance(dim, tuple) else tuple(dim)
    t = cnnlab.tensor(x)
    np.testing.assert_allclose(t.var(dim, **kw).numpy(), x.var(axis=axis, ddof=ddof), rtol=1e-12)
    np.testing.assert_allclose(t.std(dim, **kw).numpy(), x.std(axis=axis, ddof=ddof), rtol=1e-12)


def test_var_rejects_both_unbiased_and_correction():
    with pytest.raises(ValueError, match="either unbiased or correction"):
        cnnlab.ones(3).var(unbiased=True, correction=1)


@pytest.mark.parametrize("p", [1, 2, 3, "fro", float("inf")])
@pytest.mark.parametrize("dim", [None, 1])
def test_norm_against_numpy(p, dim):
    x = seeded(3).standard_normal((4, 6))
    order = 2 if p == "fro" else p
    if dim is None:
        ref = np.linalg.norm(x.ravel(), ord=order)
    else:
        ref = np.linalg.norm(x, ord=order, axis=dim)
    np.testing.assert_allclose(cnnlab.tensor(x).norm(p, dim).numpy(), ref, rtol=1e-12)


def test_norm_rejects_a_bad_p():
    with pytest.raises(ValueError, match="p must be a number > 0"):
        cnnlab.ones(3).norm(0)


def test_std_and_norm_gradients_numerically():
    x = seeded(4).standard_normal((3, 5))
    check_gradients(lambda t: t.std(1), [x])
    check_gradients(lambda t: t.var(0, correction=0), [x])
    check_gradients(lambda t: t.norm(3, 1), [x])
    check_gradients(lambda t: t.norm(), [x])


@requires_torch
def test_std_var_norm_match_torch():
    x = seeded(5).standard_normal((4, 6)).astype(np.float32)
    torch_parity(lambda t: t.std(1), lambda t: t.std(1), [x])
    torch_parity(lambda t: t.var(0, unbiased=False), lambda t: t.var(0, unbiased=False), [x])
    torch_parity(lambda t: t.norm(2, 1), lambda t: t.norm(2, 1), [x])
    torch_parity(lambda t: t.norm(1), lambda t: t.norm(1), [x])


def test_grad_is_a_tensor_of_the_parameter_shape():
    x = cnnlab.randn(2, 3, requires_grad=True)
    (x * x).sum().backward()
    assert isinstance(x.grad, cnnlab.Tensor) and not x.grad.requires_grad
    np.testing.assert_allclose(np.asarray(x.grad), 2 * x.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match=r"assigned grad has shape \(3,\)"):
        x.grad = np.zeros(3)
    x.grad = np.ones((2, 3))  # an array is wrapped
    assert isinstance(x.grad, cnnlab.Tensor)


def test_grad_hooks_and_cnnlab_grad_all_give_tensors():
    x = cnnlab.randn(3, requires_grad=True)
    seen = []
    y = x * 2
    y.register_hook(lambda g: seen.append(g))
    (g,) = cnnlab.grad((y * y).sum(), [x], retain_graph=True)
    y.sum().backward()
    assert isinstance(g, cnnlab.Tensor) and isinstance(seen[0], cnnlab.Tensor)
    assert isinstance(x.grad, cnnlab.Tensor)
    np.testing.assert_allclose(g.numpy(), 8 * x.numpy(), rtol=1e-6)


def test_data_assignment_of_a_tensor_keeps_the_array():
    """``p.data -= lr * p.grad`` (a PyTorch habit) updates ``p``; ``.array`` stays an array."""
    p = nn.Parameter(np.ones(3, dtype=np.float32))
    (p * 3).sum().backward()
    p.data -= 0.5 * p.grad
    assert isinstance(p.array, np.ndarray)
    np.testing.assert_allclose(p.array, [-0.5, -0.5, -0.5])


def test_data_is_a_tensor_sharing_memory_outside_the_graph():
    """As PyTorch: ``.data`` is a Tensor on the same memory, no grad, no history, and changing
    it in place changes the parameter without a version bump (the old tutorials' idioms)."""
    p = nn.Parameter(np.ones(3, dtype=np.float32))
    d = p.data
    assert isinstance(d, cnnlab.Tensor) and not d.requires_grad and d.is_leaf
    assert np.shares_memory(d.array, p.array)
    (p * 2).sum().backward()
    version = p._version
    p.data.sub_(0.25 * p.grad)  # the manual SGD step of the old tutorials
    np.testing.assert_allclose(p.array, [0.5, 0.5, 0.5])
    assert p._version == version
    p.data.fill_(0.0)
    assert np.all(p.array == 0)
    values, idx = cnnlab.tensor([[1.0, 3.0], [4.0, 2.0]]).data.max(1)
    np.testing.assert_array_equal(idx.numpy(), [1, 0])


def test_data_assignment_replaces_the_values():
    p = nn.Parameter(np.zeros(2, dtype=np.float32))
    p.data = cnnlab.tensor([1.0, 2.0])
    np.testing.assert_array_equal(p.array, [1.0, 2.0])
    assert p.requires_grad and p.is_leaf


def test_a_training_loop_written_from_pytorch_memory():
    cnnlab.manual_seed(0)
    rng = seeded(6)
    x = cnnlab.tensor(rng.standard_normal((64, 4)).astype(np.float32))
    y = cnnlab.tensor((x.numpy()[:, 0] > 0).astype(np.int64))
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    opt = cnnlab.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(60):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    with cnnlab.no_grad():
        pred = model(x).argmax(1)
    acc = (pred == y).float().mean().item()
    assert x.size(0) == 64 and loss.item() < 0.3 and acc > 0.9
    assert isinstance(float(loss), float)


@requires_torch
def test_comparison_matches_torch():
    a = seeded(7).standard_normal(6).astype(np.float32)
    ours = (cnnlab.tensor(a) > 0) == (cnnlab.tensor(a) < 1)
    theirs = (torch.tensor(a) > 0) == (torch.tensor(a) < 1)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_zero_dim_tensor_formats_as_its_number():
    loss = cnnlab.tensor(0.123456)
    assert f"{loss:.4f}" == "0.1235" and f"{cnnlab.tensor(7):>3d}" == "  7"
    with pytest.raises(TypeError, match="unsupported format string"):
        f"{cnnlab.ones(2):.2f}"

"""In-place Tensor methods: values against NumPy, gradients through them against PyTorch,
and the version-counter guard against in-place changes of tensors needed for backward."""

import numpy as np
import pytest

import cnnlab
from cnnlab import nn
from tests.helpers import requires_torch, seeded, torch

# name, cnnlab call, numpy reference of the new value
CASES = [
    ("zero_", lambda t, o: t.zero_(), lambda a, o: np.zeros_like(a)),
    ("fill_", lambda t, o: t.fill_(2.5), lambda a, o: np.full_like(a, 2.5)),
    ("copy_", lambda t, o: t.copy_(o), lambda a, o: np.broadcast_to(o, a.shape)),
    ("add_", lambda t, o: t.add_(o, alpha=2), lambda a, o: a + 2 * o),
    ("sub_", lambda t, o: t.sub_(o), lambda a, o: a - o),
    ("mul_", lambda t, o: t.mul_(o), lambda a, o: a * o),
    ("div_", lambda t, o: t.div_(o), lambda a, o: a / o),
    ("clamp_", lambda t, o: t.clamp_(-0.5, 0.5), lambda a, o: np.clip(a, -0.5, 0.5)),
]


@pytest.mark.parametrize("name, call, ref", CASES, ids=[c[0] for c in CASES])
def test_inplace_value_against_numpy_and_same_memory(name, call, ref):
    a = seeded(0).standard_normal((3, 4))
    o = seeded(1).standard_normal(4) + 3.0  # broadcasts; no division by ~0
    t = cnnlab.tensor(a.copy())
    buf = t.array
    out = call(t, cnnlab.tensor(o))
    assert out is t and t._version == 1
    assert t.array is buf  # no graph: changed in memory
    np.testing.assert_allclose(t.numpy(), ref(a, o), rtol=1e-12)


@requires_torch
@pytest.mark.parametrize("name, call, ref", CASES, ids=[c[0] for c in CASES])
def test_gradient_through_inplace_matches_torch(name, call, ref):
    a = seeded(2).standard_normal((3, 4))
    o = seeded(3).standard_normal(4) + 3.0
    c = seeded(4).standard_normal((3, 4))
    x, other = cnnlab.tensor(a, requires_grad=True), cnnlab.tensor(o, requires_grad=True)
    h = x * 1.5
    call(h, other)
    (h * cnnlab.tensor(c)).sum().backward()
    tx, to = torch.tensor(a, requires_grad=True), torch.tensor(o, requires_grad=True)
    th = tx * 1.5
    call(th, to)
    (th * torch.tensor(c)).sum().backward()
    np.testing.assert_allclose(h.numpy(), th.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(x.grad), tx.grad.numpy(), rtol=1e-12, atol=1e-15)
    if to.grad is None:
        assert other.grad is None or not np.asarray(other.grad).any()
    else:
        np.testing.assert_allclose(np.asarray(other.grad), to.grad.numpy(), rtol=1e-12)


def test_inplace_change_of_a_saved_input_raises_at_backward_naming_the_ops():
    x = cnnlab.randn(3, requires_grad=True)
    w = cnnlab.randn(3)  # a constant that Mul keeps for x's gradient
    y = (x * w).sum()
    w.mul_(2)
    with pytest.raises(RuntimeError, match=r"gradient of Mul .*in-place operation \(mul_\)"):
        y.backward()


def test_inplace_change_of_an_input_not_needed_by_backward_is_allowed():
    x = cnnlab.randn(3, requires_grad=True)
    b = cnnlab.randn(3)
    y = (x + b).sum()  # Add needs no input values
    b.zero_()
    y.backward()
    np.testing.assert_allclose(np.asarray(x.grad), np.ones(3))


def test_inplace_on_an_output_without_graph_keeps_the_saved_array():
    x = cnnlab.randn(4, requires_grad=True)
    y = x.exp()  # Exp keeps y for its backward
    ref = y.numpy().copy()
    with cnnlab.no_grad():
        y.add_(100.0)
    y.backward(cnnlab.ones(4))
    np.testing.assert_allclose(np.asarray(x.grad), ref, rtol=1e-6)


def test_inplace_on_a_leaf_that_requires_grad_raises_outside_no_grad():
    p = nn.Parameter(np.ones(3))
    with pytest.raises(RuntimeError, match="add_: a leaf tensor that requires grad"):
        p.add_(1.0)
    with cnnlab.no_grad():
        p.add_(1.0)  # as an optimiser does
    np.testing.assert_array_equal(p.array, [2.0, 2.0, 2.0])


def test_inplace_result_must_fit_the_tensor():
    with pytest.raises(RuntimeError, match=r"add_: the result has shape \(2, 3\)"):
        cnnlab.zeros(3).add_(cnnlab.zeros(2, 3))


def test_sgd_written_with_inplace_ops_as_in_pytorch():
    p = nn.Parameter(np.array([1.0, -2.0]))
    for _ in range(3):
        p.grad = None
        (p * p).sum().backward()
        with cnnlab.no_grad():
            p.sub_(p.grad, alpha=0.25)
    np.testing.assert_allclose(p.array, np.array([1.0, -2.0]) * 0.5**3)

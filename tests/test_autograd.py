"""The engine: graph recording, accumulation, deep graphs, no_grad, overrides, hooks."""

import numpy as np
import pytest

import cnnlab
from cnnlab.autograd import Function
from cnnlab.ops.elementwise import Exp


def test_gradients_accumulate_across_backward_calls():
    x = cnnlab.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.numpy() + 3)


def test_chain_of_5000_ops_does_not_recurse():
    x = cnnlab.tensor(np.ones(4), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001 + 0.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad, np.full(4, 1.0001**5000), rtol=1e-10)


def test_shared_subexpression_gets_both_paths():
    x = cnnlab.tensor(2.0, requires_grad=True)
    a = x * x  # used twice
    (a * a + a).backward()
    # d/dx (x^4 + x^2) = 4x^3 + 2x
    assert x.grad == pytest.approx(4 * 8 + 4)


def test_broadcast_gradient_is_unbroadcast_by_the_engine():
    x = cnnlab.tensor(np.ones((2, 3)), requires_grad=True)
    b = cnnlab.tensor(np.ones((1, 3)), requires_grad=True)
    c = cnnlab.tensor(np.ones(3), requires_grad=True)
    (x * b + c).sum().backward()
    assert b.grad.shape == (1, 3) and c.grad.shape == (3,)
    np.testing.assert_allclose(b.grad, [[2, 2, 2]])
    np.testing.assert_allclose(c.grad, [2, 2, 2])


def test_no_grad_records_nothing():
    x = cnnlab.tensor([1.0], requires_grad=True)
    with cnnlab.no_grad():
        y = x * 2
    assert not y.requires_grad and y.is_leaf


def test_python_floats_give_float32_arrays_keep_dtype_and_scalars_do_not_promote():
    assert cnnlab.tensor([1.0, 2.0]).dtype == np.float32
    assert cnnlab.tensor(np.zeros(2)).dtype == np.float64
    assert cnnlab.tensor([1, 2]).dtype.kind == "i"
    x = cnnlab.tensor(np.ones(2, np.float32), requires_grad=True)
    assert (x * 2.5).dtype == np.float32  # Python scalars keep the tensor's dtype


def test_float64_meets_float32_promotes_and_grads_keep_their_dtype():
    a = cnnlab.tensor(np.ones(3, np.float32), requires_grad=True)
    b = cnnlab.tensor(np.ones(3, np.float64), requires_grad=True)
    y = a * b
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_backward_twice_needs_retain_graph():
    x = cnnlab.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_nonscalar_backward_needs_a_gradient():
    x = cnnlab.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()
    (x * 2).backward(np.array([1.0, 10.0], np.float32))
    np.testing.assert_allclose(x.grad, [2, 20])


def test_grad_function_leaves_dot_grad_alone():
    x = cnnlab.tensor([1.0, 2.0], requires_grad=True)
    w = cnnlab.tensor([3.0, 4.0], requires_grad=True)
    (gx,) = cnnlab.grad((x * w).sum(), [x])
    np.testing.assert_allclose(gx, [3, 4])
    assert x.grad is None and w.grad is None


def test_override_backward_at_forward_and_at_backward_time():
    x = cnnlab.tensor([0.0, 1.0], requires_grad=True)

    def doubled(ctx, g):
        return (2 * g * ctx,)

    with cnnlab.override_backward(Exp, doubled):
        y = x.exp().sum()
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * np.exp([0.0, 1.0]), rtol=1e-6)
    x.grad = None
    y = x.exp().sum()
    with cnnlab.override_backward(Exp, doubled):
        y.backward()
    np.testing.assert_allclose(x.grad, 2 * np.exp([0.0, 1.0]), rtol=1e-6)
    x.grad = None
    x.exp().sum().backward()  # outside the block the normal rule is back
    np.testing.assert_allclose(x.grad, np.exp([0.0, 1.0]), rtol=1e-6)


def test_override_backward_rejects_non_functions():
    with pytest.raises(TypeError):
        with cnnlab.override_backward(len, lambda c, g: g):
            pass


def test_retain_grad_and_hooks():
    x = cnnlab.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3).retain_grad()
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    x.register_hook(lambda g: g * 10)
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * h.numpy())
    np.testing.assert_allclose(seen[0], 2 * h.numpy())
    np.testing.assert_allclose(x.grad, 10 * 3 * 2 * h.numpy())


def test_bad_backward_shape_is_reported():
    class Broken(Function):
        @staticmethod
        def forward(x):
            return x * 2, None

        @staticmethod
        def backward(ctx, g):
            return (g[:1],)

    x = cnnlab.tensor(np.ones((3, 2)), requires_grad=True)
    with pytest.raises(RuntimeError, match="Broken.backward"):
        Broken.apply(x).sum().backward()


def test_requires_grad_only_for_floats():
    with pytest.raises(TypeError):
        cnnlab.tensor([1, 2], requires_grad=True)


def test_manual_seed_makes_randn_repeatable():
    cnnlab.manual_seed(3)
    a = cnnlab.randn(3, 4).numpy()
    cnnlab.manual_seed(3)
    np.testing.assert_array_equal(a, cnnlab.randn(3, 4).numpy())
    assert a.dtype == np.float32


def test_trace_sees_every_op_with_its_arguments():
    seen = []
    x = cnnlab.tensor(np.ones((2, 3)))
    with cnnlab.autograd.trace(lambda fn, ins, kw, out: seen.append((fn.__name__, kw, out.shape))):
        (x.exp() + x).sum(dim=1)
    x.exp()  # outside the block: not traced
    assert [s[0] for s in seen] == ["Exp", "Add", "Sum"]
    assert seen[2][1] == {"dim": 1, "keepdim": False} and seen[2][2] == (2,)

"""Elementwise primitives: float64 gradcheck and PyTorch parity, with broadcasting."""

import numpy as np
import pytest

import cnnlab
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity

SHAPES = [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 5)), ((5,), ())]

BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
}


def _pair(sa, sb, positive=False):
    rng = seeded(1)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    if positive:
        a, b = np.abs(a) + 0.5, np.abs(b) + 0.5
    return a, b


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_binary_gradcheck(name, sa, sb):
    a, b = _pair(sa, sb, positive=name in ("div", "pow"))
    check_gradients(BINARY[name], [a, b])


@requires_torch
@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_binary_torch_parity(name, sa, sb):
    a, b = _pair(sa, sb, positive=name in ("div", "pow"))
    f = BINARY[name]
    torch_parity(f, f, [a.astype(np.float32), np.asarray(b, np.float32)])


UNARY = {
    "exp": (lambda x: x.exp(), lambda t: t.exp(), False),
    "log": (lambda x: x.log(), lambda t: t.log(), True),
    "sqrt": (lambda x: x.sqrt(), lambda t: t.sqrt(), True),
    "abs": (lambda x: x.abs(), lambda t: t.abs(), False),
    "neg": (lambda x: -x, lambda t: -t, False),
    "pow3": (lambda x: x**3, lambda t: t**3, False),
    "pow-0.5": (lambda x: x**-0.5, lambda t: t**-0.5, True),
    "rsub": (lambda x: 2.0 - x, lambda t: 2.0 - t, False),
    "rdiv": (lambda x: 2.0 / x, lambda t: 2.0 / t, True),
    "clamp": (lambda x: x.clamp(-0.5, 0.7), lambda t: t.clamp(-0.5, 0.7), False),
    "clamp_min": (lambda x: x.clamp(min=0.1), lambda t: t.clamp(min=0.1), False),
}


def _x(positive):
    x = seeded(2).standard_normal((4, 5))
    return np.abs(x) + 0.3 if positive else x


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_gradcheck(name):
    f, _, positive = UNARY[name]
    check_gradients(f, [_x(positive)])


@requires_torch
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_torch_parity(name):
    f, tf, positive = UNARY[name]
    torch_parity(f, tf, [_x(positive).astype(np.float32)])


def test_where_routes_gradients():
    cond = np.array([True, False, True])
    a = cnnlab.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = cnnlab.tensor([10.0, 20.0, 30.0], requires_grad=True)
    y = cnnlab.where(cond, a, b)
    np.testing.assert_allclose(y.numpy(), [1, 20, 3])
    y.sum().backward()
    np.testing.assert_allclose(a.grad, [1, 0, 1])
    np.testing.assert_allclose(b.grad, [0, 1, 0])


@requires_torch
def test_abs_and_clamp_kinks_match_torch():
    x = np.array([-1.0, 0.0, 0.5, 1.0], np.float32)
    torch_parity(lambda t: t.abs(), lambda t: t.abs(), [x])
    torch_parity(lambda t: t.clamp(0.0, 0.5), lambda t: t.clamp(0.0, 0.5), [x])


def test_cast_gradient_returns_in_source_dtype():
    x = cnnlab.tensor(np.ones(3, np.float32), requires_grad=True)
    y = x.double() * 2
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32


@requires_torch
def test_reflected_ops_with_arrays():
    x = np.arange(1, 5, dtype=np.float32)
    t = cnnlab.tensor(x)
    r = np.float32(2.0) * t  # ndarray scalar on the left defers to Tensor
    assert isinstance(r, cnnlab.Tensor)
    np.testing.assert_allclose(r.numpy(), torch.tensor(x).mul(2).numpy())


def test_erf_matches_math_and_gradcheck():
    import math

    from cnnlab.ops.elementwise import erf

    x = seeded(11).standard_normal((3, 4)) * 2
    np.testing.assert_allclose(erf(cnnlab.tensor(x)).numpy(), np.vectorize(math.erf)(x))
    check_gradients(erf, [x])


@requires_torch
def test_erf_torch_parity():
    from cnnlab.ops.elementwise import erf

    x = (seeded(12).standard_normal((5, 3)) * 2).astype(np.float32)
    torch_parity(erf, torch.erf, [x])

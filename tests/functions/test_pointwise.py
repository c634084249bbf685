"""The torch.* elementwise functions: the composites' float64 gradchecks and PyTorch
parity, and the signatures PyTorch programs call (``alpha=``, ``rounding_mode=``,
``where(cond)``, tensor bounds for ``clamp``)."""

import numpy as np
import pytest

import cnnlab
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity


def _pos(shape=(3, 4)):
    return np.abs(seeded(12).standard_normal(shape)) + 0.3


def _x(shape=(3, 4)):
    return seeded(13).standard_normal(shape)


UNARY = ["exp", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "square"]
UNARY += ["reciprocal", "abs", "neg", "sin", "cos", "tan", "sigmoid", "tanh", "relu"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_function_gradcheck_and_parity(name):
    positive = ("log", "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal")
    x = _pos() if name in positive else _x()
    if name == "tan":
        x = x * 0.4  # away from the poles
    fn = getattr(cnnlab, name)
    check_gradients(fn, [x])
    if torch is not None:
        torch_parity(fn, getattr(torch, name), [x.astype(np.float32)])


BINARY = {  # name: (cnnlab fn, torch fn)
    "pow": (lambda a, b: cnnlab.pow(a, b), lambda a, b: torch.pow(a, b)),
    "pow_scalar_base": (lambda a, b: cnnlab.pow(2.0, a) * b, lambda a, b: torch.pow(2.0, a) * b),
    "add_alpha": (lambda a, b: cnnlab.add(a, b, alpha=3), lambda a, b: torch.add(a, b, alpha=3)),
    "sub_alpha": (lambda a, b: cnnlab.sub(a, b, alpha=2), lambda a, b: torch.sub(a, b, alpha=2)),
    "mul": (cnnlab.mul, lambda a, b: torch.mul(a, b)),
    "div": (cnnlab.div, lambda a, b: torch.div(a, b)),
    "maximum": (cnnlab.maximum, lambda a, b: torch.maximum(a, b)),
    "remainder": (lambda a, b: a * 3 % b, lambda a, b: a * 3 % b),
    "floor_divide": (lambda a, b: a + a * 3 // b, lambda a, b: a + (a * 3 / b).floor()),
    "clamp_tensors": (
        lambda a, b: cnnlab.clamp(a, min=b, max=b + 1.0),
        lambda a, b: torch.clamp(a, min=b, max=b + 1.0),
    ),
    "where": (
        lambda a, b: cnnlab.where(a > b, a, b * 2),
        lambda a, b: torch.where(a > b, a, b * 2),
    ),
}


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_function_gradcheck_and_parity(name):
    fn, tfn = BINARY[name]
    a, b = _pos(), _pos((4,)) + 0.1
    check_gradients(fn, [a, b])
    if torch is not None:
        torch_parity(fn, tfn, [a.astype(np.float32), b.astype(np.float32)])


@requires_torch
@pytest.mark.parametrize("mode", [None, "trunc", "floor"])
def test_div_rounding_modes_equal_torch(mode):
    a = np.array([7.0, -7.0, 5.5, -5.5], np.float32)
    ours = cnnlab.div(cnnlab.tensor(a), 2.0, rounding_mode=mode)
    np.testing.assert_array_equal(ours.numpy(), torch.div(torch.tensor(a), 2.0, rounding_mode=mode))
    ints = cnnlab.div(cnnlab.tensor([7, -7]), 2, rounding_mode="floor")
    assert ints.dtype == np.int64 and ints.tolist() == [3, -4]
    true = cnnlab.div(cnnlab.tensor([7, -7]), cnnlab.tensor([2, 2]))
    assert true.dtype == torch.div(torch.tensor([7, -7]), torch.tensor([2, 2])).numpy().dtype


@requires_torch
@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "sign"])
def test_rounding_functions_equal_torch(name):
    x = np.array([-2.5, -0.5, 0.5, 1.5, 2.5, 0.3, -1.7], np.float32)
    ours = getattr(cnnlab, name)(cnnlab.tensor(x)).numpy()
    np.testing.assert_array_equal(ours, getattr(torch, name)(torch.tensor(x)).numpy())
    np.testing.assert_allclose(
        cnnlab.round(cnnlab.tensor(x) / 3, decimals=2).numpy(),
        torch.round(torch.tensor(x) / 3, decimals=2).numpy(),
        rtol=1e-6,
    )


def test_where_with_only_a_condition_gives_indices_as_torch():
    rows, cols = cnnlab.where(cnnlab.tensor([[True, False], [False, True]]))
    assert rows.tolist() == [0, 1] and cols.tolist() == [0, 1]


def test_clamp_needs_a_bound():
    with pytest.raises(ValueError, match="at least one of min and max"):
        cnnlab.clamp(cnnlab.tensor([1.0]))
    assert cnnlab.clamp(cnnlab.tensor([-1.0, 3.0]), 0, 1).tolist() == [0.0, 1.0]
    assert cnnlab.clip(cnnlab.tensor([-1.0]), min=0).tolist() == [0.0]


def test_softmax_functions_take_a_dtype():
    x = cnnlab.tensor(_x().astype(np.float32))
    assert cnnlab.softmax(x, 1, dtype=cnnlab.float64).dtype == np.float64
    np.testing.assert_allclose(cnnlab.softmax(x, 1).sum(1).numpy(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(
        cnnlab.log_softmax(x, 1).exp().numpy(), cnnlab.softmax(x, 1).numpy(), rtol=1e-5
    )


@requires_torch
@pytest.mark.parametrize("name", ["pow", "add", "sub", "mul", "div", "maximum", "minimum"])
def test_float_with_integer_tensor_keeps_the_float_dtype_as_torch(name):
    x = np.array([0.5, 1.5, 2.0], np.float32)
    p = np.array([1, 2, 3])
    ours = getattr(cnnlab, name)(cnnlab.tensor(x), cnnlab.tensor(p))
    theirs = getattr(torch, name)(torch.tensor(x), torch.tensor(p))
    assert ours.dtype == np.float32 and str(theirs.dtype) == "torch.float32"
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)

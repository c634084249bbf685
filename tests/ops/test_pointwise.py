"""sin, cos, log1p, expm1, maximum/minimum and the piecewise-constant steps: float64
gradcheck, a NumPy reference and PyTorch parity (forward and backward)."""

import numpy as np
import pytest

import cnnlab
from cnnlab.ops import pointwise as pw
from tests.helpers import check_gradients, requires_torch, seeded, torch, torch_parity

UNARY = {  # name: (cnnlab op, NumPy reference, torch function, input offset)
    "sin": (pw.Sin.apply, np.sin, "sin", 0.0),
    "cos": (pw.Cos.apply, np.cos, "cos", 0.0),
    "log1p": (pw.Log1p.apply, np.log1p, "log1p", 1.5),  # inputs > -1
    "expm1": (pw.Expm1.apply, np.expm1, "expm1", 0.0),
}


def _x(shape=(3, 4), offset=0.0):
    return seeded(5).standard_normal(shape) * 0.9 + offset


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_forward_gradcheck_and_parity(name):
    op, ref, tname, offset = UNARY[name]
    x = _x(offset=offset)
    np.testing.assert_allclose(op(cnnlab.tensor(x)).numpy(), ref(x), rtol=1e-12)
    check_gradients(op, [x])
    if torch is not None:
        torch_parity(op, getattr(torch, tname), [x.astype(np.float32)])


@pytest.mark.parametrize("op,tname", [(pw.Maximum, "maximum"), (pw.Minimum, "minimum")])
@pytest.mark.parametrize("sa,sb", [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 5))])
def test_maximum_minimum_gradcheck_and_parity(op, tname, sa, sb):
    rng = seeded(2)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    np_ref = np.maximum if tname == "maximum" else np.minimum
    np.testing.assert_array_equal(
        op.apply(cnnlab.tensor(a), cnnlab.tensor(b)).numpy(), np_ref(a, b)
    )
    check_gradients(op.apply, [a, b])
    if torch is not None:
        torch_parity(op.apply, getattr(torch, tname), [a.astype(np.float32), b.astype(np.float32)])


@requires_torch
@pytest.mark.parametrize("op,tname", [(pw.Maximum, "maximum"), (pw.Minimum, "minimum")])
def test_equal_operands_share_the_gradient_like_torch(op, tname):
    a = np.array([1.0, 2.0, 3.0], np.float32)
    b = np.array([1.0, 0.0, 3.0], np.float32)
    torch_parity(op.apply, getattr(torch, tname), [a, b])


@pytest.mark.parametrize("how", ["floor", "ceil", "round", "trunc", "sign"])
def test_steps_match_numpy_and_torch_with_zero_gradient(how):
    x = np.array([-2.5, -1.5, -0.4, 0.0, 0.5, 1.5, 2.5, 3.7], np.float32)
    out = pw.Step.apply(cnnlab.tensor(x), how=how)
    np.testing.assert_array_equal(out.numpy(), getattr(np, how)(x))
    if torch is not None:
        torch_parity(lambda t: pw.Step.apply(t, how=how), getattr(torch, how), [x])


def test_step_names_what_it_accepts():
    with pytest.raises(ValueError, match="how must be one of"):
        pw.Step.apply(cnnlab.tensor([1.0]), how="ceiling")

"""matmul, mm, bmm, mv, dot, outer, t, trace, tensordot, einsum as torch.*: float64
gradchecks, PyTorch parity, and the dims PyTorch insists on."""

import numpy as np
import pytest

import cnnlab
from tests.helpers import check_gradients, seeded, torch, torch_parity

CASES = {  # name: (fn taking the module as first arg, operand shapes)
    "matmul": (lambda m, a, b: m.matmul(a, b), [(2, 3, 4), (4, 5)]),
    "mm": (lambda m, a, b: m.mm(a, b), [(3, 4), (4, 2)]),
    "bmm": (lambda m, a, b: m.bmm(a, b), [(2, 3, 4), (2, 4, 5)]),
    "mv": (lambda m, a, b: m.mv(a, b), [(3, 4), (4,)]),
    "dot": (lambda m, a, b: m.dot(a, b), [(4,), (4,)]),
    "outer": (lambda m, a, b: m.outer(a, b), [(3,), (4,)]),
    "t": (lambda m, a: m.t(a), [(3, 4)]),
    "t_1d": (lambda m, a: m.t(a), [(3,)]),
    "trace": (lambda m, a: m.trace(a), [(4, 4)]),
    "tensordot": (lambda m, a, b: m.tensordot(a, b, dims=1), [(2, 3), (3, 4)]),
    "tensordot_pairs": (
        lambda m, a, b: m.tensordot(a, b, dims=([0, 2], [1, 0])),
        [(2, 3, 4), (4, 2, 5)],
    ),
    "einsum_list": (lambda m, a, b: m.einsum("ij,kj->ik", [a, b]), [(3, 4), (2, 4)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_product_gradcheck_and_parity(name):
    fn, shapes = CASES[name]
    xs = [seeded(i).standard_normal(s) for i, s in enumerate(shapes)]
    check_gradients(lambda *ts: fn(cnnlab, *ts), xs)
    if torch is not None:
        torch_parity(
            lambda *ts: fn(cnnlab, *ts),
            lambda *ts: fn(torch, *ts),
            [x.astype(np.float32) for x in xs],
            atol=1e-4,
        )


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: cnnlab.mm(cnnlab.ones(2, 3, 4), cnnlab.ones(4, 2)), "mm: input must be 2-D"),
        (lambda: cnnlab.bmm(cnnlab.ones(2, 3, 4), cnnlab.ones(4, 2)), "bmm: mat2 must be 3-D"),
        (lambda: cnnlab.bmm(cnnlab.ones(2, 3, 4), cnnlab.ones(3, 4, 2)), "batch sizes differ"),
        (lambda: cnnlab.dot(cnnlab.ones(2, 2), cnnlab.ones(2)), "dot: input must be 1-D"),
        (lambda: cnnlab.t(cnnlab.ones(2, 2, 2)), "t: expects a tensor with <= 2 dims"),
    ],
)
def test_products_name_the_dims_they_need(call, match):
    with pytest.raises(ValueError, match=match):
        call()

"""einsum: the equation parser, NumPy's einsum as reference, float64 gradcheck and
PyTorch parity over products, reductions, batches, ellipses and diagonals."""

import numpy as np
import pytest

import cnnlab
from cnnlab.ops import einsum as E
from tests.helpers import check_gradients, seeded, torch, torch_parity

CASES = [  # (equation, operand shapes)
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),  # implicit output
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->ji", [(3, 4)]),
    ("ij->i", [(3, 4)]),  # j summed away: the gradient broadcasts back
    ("ij->", [(3, 4)]),
    ("ii->", [(4, 4)]),  # trace: the gradient lands on the diagonal
    ("ii->i", [(4, 4)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 2)]),
    ("b...,b->...", [(2, 3, 4), (2,)]),
    ("nchw,kc->nkhw", [(2, 3, 2, 2), (4, 3)]),
]


def _operands(shapes):
    rng = seeded(9)
    return [rng.standard_normal(s) for s in shapes]


@pytest.mark.parametrize("eq,shapes", CASES)
def test_einsum_forward_gradcheck_and_parity(eq, shapes):
    xs = _operands(shapes)
    terms, out = E.explicit(eq, [x.ndim for x in xs])
    fn = lambda *ts: E.Einsum.apply(*ts, terms=tuple(terms), out=out)  # noqa: E731
    np.testing.assert_allclose(
        fn(*map(cnnlab.tensor, xs)).numpy(), np.einsum(eq, *xs), rtol=1e-10, atol=1e-12
    )
    check_gradients(fn, xs)
    if torch is not None:
        torch_parity(
            fn, lambda *ts: torch.einsum(eq, *ts), [x.astype(np.float32) for x in xs], atol=1e-4
        )


def test_explicit_spells_out_implicit_outputs_and_ellipses():
    assert E.explicit("ij,jk", [2, 2]) == (["ij", "jk"], "ik")
    assert E.explicit("ba", [2]) == (["ba"], "ab")  # alphabetical, as PyTorch
    assert E.explicit("...ij->...ji", [4]) == (["ABij"], "ABji")


@pytest.mark.parametrize(
    "eq,ndims,match",
    [
        ("ij,jk->ik", [2], "has 2 operand"),
        ("ijk->i", [2], "name 3 dims, the operand has 2"),
        ("i1->i", [2], "must be letters"),
    ],
)
def test_explicit_names_what_is_wrong(eq, ndims, match):
    with pytest.raises(ValueError, match=match):
        E.explicit(eq, ndims)

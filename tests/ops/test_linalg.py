"""Matrix products, every rank combination, against PyTorch."""

import numpy as np
import pytest

from tests.helpers import check_gradients, requires_torch, seeded, torch_parity

SHAPES = [
    ((3, 4), (4, 5)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((4,), (2, 4, 5)),
    ((2, 1, 3, 4), (5, 4, 2)),
]


@pytest.mark.parametrize("sa,sb", SHAPES)
def test_matmul_gradcheck(sa, sb):
    rng = seeded(6)
    check_gradients(lambda a, b: a @ b, [rng.standard_normal(sa), rng.standard_normal(sb)])


@requires_torch
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_matmul_torch_parity(sa, sb):
    rng = seeded(7)
    a, b = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
    torch_parity(lambda u, v: u @ v, lambda u, v: u @ v, [a, b])

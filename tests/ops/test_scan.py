"""cumsum: a NumPy reference, float64 gradcheck and PyTorch parity along every dim."""

import numpy as np
import pytest

import cnnlab
from cnnlab.ops.scan import CumSum
from tests.helpers import check_gradients, seeded, torch, torch_parity


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_cumsum_forward_gradcheck_and_parity(dim):
    x = seeded(8).standard_normal((3, 4, 5))
    fn = lambda t: CumSum.apply(t, dim=dim)  # noqa: E731
    np.testing.assert_allclose(fn(cnnlab.tensor(x)).numpy(), np.cumsum(x, axis=dim), rtol=1e-12)
    check_gradients(fn, [x])
    if torch is not None:
        torch_parity(fn, lambda t: torch.cumsum(t, dim), [x.astype(np.float32)])


def test_cumsum_of_a_scalar_is_the_scalar():
    x = cnnlab.tensor(3.0, requires_grad=True)
    y = CumSum.apply(x, dim=0)
    y.backward()
    assert y.item() == 3.0 and x.grad.item() == 1.0

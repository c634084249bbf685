"""IndexPut (``x[index] = v``): NumPy assignment as reference, float64 gradcheck for both
inputs and PyTorch parity through ``__setitem__`` on a clone."""

import numpy as np
import pytest

import cnnlab
from cnnlab.ops.index_put import IndexPut
from tests.helpers import check_gradients, seeded, torch, torch_parity

INDICES = [  # (index, shape of v)
    ((slice(None), 1), (3,)),
    ((slice(None), 1), ()),  # a number-like v broadcast
    ((slice(1, 3),), (1, 4)),  # broadcast over rows
    (np.array([True, False, True]), (2, 4)),
    ((np.array([0, 2]), np.array([3, 1])), (2,)),
]


@pytest.mark.parametrize("index,vshape", INDICES)
def test_index_put_forward_gradcheck_and_parity(index, vshape):
    rng = seeded(3)
    x, v = rng.standard_normal((3, 4)), rng.standard_normal(vshape)
    fn = lambda a, b: IndexPut.apply(a, b, index=index)  # noqa: E731
    ref = x.copy()
    ref[index] = v
    np.testing.assert_array_equal(fn(cnnlab.tensor(x), cnnlab.tensor(v)).numpy(), ref)
    check_gradients(fn, [x, v])
    if torch is not None:

        def tfn(a, b):
            out = a.clone()
            tidx = (
                tuple(torch.tensor(i) if isinstance(i, np.ndarray) else i for i in index)
                if (isinstance(index, tuple))
                else torch.tensor(index)
            )
            out[tidx] = b
            return out

        torch_parity(fn, tfn, [x.astype(np.float32), v.astype(np.float32)])

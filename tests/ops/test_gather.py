"""Gather along a dim: a loop reference, float64 gradcheck (repeated indices accumulate)
and PyTorch parity."""

import numpy as np
import pytest

import cnnlab
from cnnlab.ops.gather import Gather
from tests.helpers import check_gradients, seeded, torch, torch_parity

CASES = [  # (input shape, index shape, dim)
    ((3, 4), (3, 2), 1),
    ((3, 4), (2, 4), 0),
    ((2, 3, 4), (2, 3, 5), -1),  # more picks than the dim has: repeats
    ((4, 5), (2, 3), 1),  # index smaller than the input in the other dim
]


def _case(shape, ishape, dim):
    rng = seeded(7)
    x = rng.standard_normal(shape)
    idx = rng.integers(0, shape[dim], ishape)
    return x, idx


def _loop_gather(x, idx, dim):
    out = np.empty(idx.shape)
    dim = dim % x.ndim
    for pos in np.ndindex(*idx.shape):
        src = list(pos)
        src[dim] = idx[pos]
        out[pos] = x[tuple(src)]
    return out


@pytest.mark.parametrize("shape,ishape,dim", CASES)
def test_gather_forward_gradcheck_and_parity(shape, ishape, dim):
    x, idx = _case(shape, ishape, dim)
    fn = lambda t: Gather.apply(t, index=idx, dim=dim)  # noqa: E731
    np.testing.assert_array_equal(fn(cnnlab.tensor(x)).numpy(), _loop_gather(x, idx, dim))
    check_gradients(fn, [x])
    if torch is not None:
        tidx = torch.tensor(idx)
        torch_parity(fn, lambda t: torch.gather(t, dim, tidx), [x.astype(np.float32)])

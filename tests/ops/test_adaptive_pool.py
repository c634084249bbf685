"""Adaptive pooling: loop references, float64 gradcheck and PyTorch parity (values, indices)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import cnnlab
from cnnlab.ops.adaptive_pool import adaptive_avg_pool2d, adaptive_max_pool2d
from tests.helpers import check_gradients, requires_torch, torch, torch_parity
from tests.ops.test_pool import _distinct

ADAPTIVE = [(1, 1), (3, 3), (2, 5), 4, (None, 2)]


def adaptive_ref(x, size, reduce):
    n, c, h, w = x.shape
    oh, ow = size
    out = np.empty((n, c, oh, ow), x.dtype)
    for i, j in itertools.product(range(oh), range(ow)):
        h0, h1 = (i * h) // oh, -(-(i + 1) * h // oh)
        w0, w1 = (j * w) // ow, -(-(j + 1) * w // ow)
        out[:, :, i, j] = reduce(x[:, :, h0:h1, w0:w1], axis=(2, 3))
    return out


def _size(size, hw):
    size = size if isinstance(size, tuple) else (size, size)
    return tuple(n if v is None else v for v, n in zip(size, hw))


# ----------------------------------------------------------------------------- adaptive pooling
@pytest.mark.parametrize("size", ADAPTIVE)
@pytest.mark.parametrize(
    "op,reduce", [(adaptive_avg_pool2d, np.mean), (adaptive_max_pool2d, np.max)]
)
def test_adaptive_matches_loop_and_gradcheck(op, reduce, size):
    x = _distinct((2, 2, 7, 9), dtype=np.float64)
    ref = adaptive_ref(x, _size(size, (7, 9)), reduce)
    np.testing.assert_allclose(op(cnnlab.tensor(x), size).numpy(), ref, rtol=1e-12)
    check_gradients(lambda t: op(t, size), [x[:1, :1]])


@requires_torch
@pytest.mark.parametrize("shape", [(2, 3, 7, 9), (1, 2, 5, 5), (2, 2, 8, 6)])
@pytest.mark.parametrize("size", ADAPTIVE)
def test_adaptive_torch_parity(shape, size):
    x = _distinct(shape)
    torch_parity(
        lambda t: adaptive_avg_pool2d(t, size),
        lambda t: torch.nn.functional.adaptive_avg_pool2d(t, size),
        [x],
    )
    torch_parity(
        lambda t: adaptive_max_pool2d(t, size),
        lambda t: torch.nn.functional.adaptive_max_pool2d(t, size),
        [x],
    )
    _, idx = adaptive_max_pool2d(cnnlab.tensor(x), size, return_indices=True)
    _, ref = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), size, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), ref.numpy())


def test_adaptive_3d_input():
    x = _distinct((3, 7, 9))
    assert adaptive_avg_pool2d(cnnlab.tensor(x), (2, 5)).shape == (3, 2, 5)
    assert adaptive_max_pool2d(cnnlab.tensor(x), 1).shape == (3, 1, 1)

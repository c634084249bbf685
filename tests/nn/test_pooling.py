"""Pooling layers (cnnlab/nn/layers/pooling.py): max-pool indices and their unpooling."""

import numpy as np

import cnnlab
from cnnlab import nn


def test_pool_indices_and_unpool():
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    x = cnnlab.tensor(np.random.default_rng(0).standard_normal((1, 2, 4, 4)).astype(np.float32))
    y, idx = pool(x)
    assert y.shape == idx.shape == (1, 2, 2, 2)
    z = unpool(y, idx).numpy()
    assert z.shape == (1, 2, 4, 4) and (z != 0).sum() == 8
    np.testing.assert_array_equal(np.sort(z[z != 0]), np.sort(y.numpy().ravel()))

"""Activation layers (cnnlab/nn/layers/activation.py): Softmax without a dim."""

import numpy as np

import cnnlab
from cnnlab import nn


def test_softmax_legacy_dim():
    x = cnnlab.tensor(np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32))
    np.testing.assert_allclose(nn.Softmax()(x).numpy().sum(axis=1), 1, rtol=1e-6)

"""Dropout layers (cnnlab/nn/layers/dropout.py): inverted dropout in training, identity in eval."""

import numpy as np

import cnnlab
from cnnlab import nn


def test_dropout_train_and_eval():
    layer = nn.Dropout(0.25)
    x = cnnlab.ones(200, 100)
    y = layer(x).numpy()
    kept = y != 0
    assert abs(1 - kept.mean() - 0.25) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())

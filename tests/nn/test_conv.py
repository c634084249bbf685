"""Convolution layers (cnnlab/nn/layers/conv.py): a transposed convolution's output_size."""

import pytest

import cnnlab
from cnnlab import nn


def test_conv_transpose_output_size():
    layer = nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1)
    x = cnnlab.zeros(1, 2, 4, 4)
    assert layer(x).shape == (1, 2, 7, 7)
    assert layer(x, output_size=(8, 8)).shape == (1, 2, 8, 8)
    with pytest.raises(ValueError, match="not reachable"):
        layer(x, output_size=(10, 10))

"""Small random models and images for fast attack checks."""

from __future__ import annotations

import numpy as np

import cnnlab
from cnnlab import nn


def tiny_cnn(seed: int = 0, channels: int = 1, classes: int = 5):
    """A small random conv net (conv - ReLU - max pool - linear) for fast checks."""
    cnnlab.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(channels, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, classes),
    ).eval()


def images(n=6, channels=1, size=8, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, channels, size, size)).astype(np.float32)

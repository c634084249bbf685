"""A small CNN trained on real Fashion-MNIST, shared by the lab's tests (cached per session)."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from cnnlab import models, optim
from cnnlab.data import DataLoader, DatasetError, FashionMNIST, Subset


def fashion_data(train: bool = True, n: int | None = None):
    """Fashion-MNIST images and labels as arrays (skips the test when the data is missing)."""
    try:
        ds = FashionMNIST(train=train)
    except DatasetError as e:
        pytest.skip(f"Fashion-MNIST is not installed: {e}")
    x = ds.data[:n].astype(np.float32)[:, None] / 255.0
    return x, ds.targets[:n].astype(np.int64)


@functools.cache
def fashion_model(n_train: int = 6000, epochs: int = 2):
    """LeNet-5 (ReLU, max pooling) trained on the first ``n_train`` Fashion-MNIST training
    images; about 85% test accuracy. Returned in eval mode."""
    try:
        ds = FashionMNIST(train=True)
    except DatasetError as e:
        pytest.skip(f"Fashion-MNIST is not installed: {e}")
    cnnlab.manual_seed(0)
    model = models.create("lenet5")
    loader = DataLoader(Subset(ds, np.arange(n_train)), batch_size=64, shuffle=True, seed=0)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    # Trained on the NumPy kernels whatever is installed, so every machine tests the same
    # model: oneDNN rounds differently, and over 188 steps that gives another LeNet-5 (on
    # one, no image in [0, 1] reaches 99% "shirt", which the fooling tests assert).
    with cnnlab.set_kernels("numpy"):
        for _ in range(epochs):
            for x, y in loader:
                loss = F.cross_entropy(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
    return model.eval()

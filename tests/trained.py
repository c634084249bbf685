"""A small CNN trained on real Fashion-MNIST, shared by the lab's tests: its weights are stored
in tests/fixtures, so every machine tests the same model."""

from __future__ import annotations

import functools
from pathlib import Path

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


FIXTURE = Path(__file__).parent / "fixtures" / "lenet5_fashion.safetensors"


def train_fashion_model(n_train: int = 6000, epochs: int = 2):
    """LeNet-5 (ReLU, max pooling) trained on the first ``n_train`` Fashion-MNIST training
    images; 77.6% test accuracy (the stored weights). Returned in eval mode.

    The weights this gives depend on the machine (BLAS sums in another order on AVX2 than on
    AVX-512, and weight gradients are summed per thread), so the tests use the weights it
    gave once, stored in :data:`FIXTURE` (``python -m tests.trained`` writes them again)."""
    try:
        ds = FashionMNIST(train=True)
    except DatasetError as e:
        pytest.skip(f"Fashion-MNIST is not installed: {e}")
    cnnlab.manual_seed(0)
    model = models.create("lenet5")
    loader = DataLoader(Subset(ds, np.arange(n_train)), batch_size=64, shuffle=True, seed=0)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    threads = cnnlab.threads.get_num_threads()
    cnnlab.threads.set_num_threads(2)
    try:
        with cnnlab.set_kernels("numpy"):
            for _ in range(epochs):
                for x, y in loader:
                    loss = F.cross_entropy(model(x), y)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
    finally:
        cnnlab.threads.set_num_threads(threads)
    return model.eval()


@functools.cache
def fashion_model():
    """The LeNet-5 of :func:`train_fashion_model`, from the weights stored in the repository
    (61,706 parameters, 247 KB): every machine tests the same model. Returned in eval mode."""
    model = models.create("lenet5")
    model.load_state_dict(cnnlab.load(FIXTURE))
    return model.eval()


if __name__ == "__main__":  # python -m tests.trained: write the stored weights again
    FIXTURE.parent.mkdir(exist_ok=True)
    cnnlab.save(train_fashion_model().state_dict(), FIXTURE)
    print(f"wrote {FIXTURE}")

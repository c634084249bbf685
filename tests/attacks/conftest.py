"""Shared fixtures: the session's Fashion-MNIST LeNet-5 and a sample of its test images."""

from __future__ import annotations

import pytest

from cnnlab.attacks import predict_proba
from tests.trained import fashion_data, fashion_model


@pytest.fixture(scope="session")
def fashion():
    """``(model, x, y)``: the trained LeNet-5 and 160 correctly classified test images."""
    model = fashion_model()
    x, y = fashion_data(train=False, n=400)
    ok = predict_proba(model, x).argmax(1) == y
    return model, x[ok][:160], y[ok][:160]


@pytest.fixture(scope="session")
def fashion_all():
    """``(model, x, y)``: the trained LeNet-5 and the first 1,000 test images, as they come."""
    x, y = fashion_data(train=False, n=1000)
    return fashion_model(), x, y

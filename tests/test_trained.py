"""The stored test fixture (tests/trained.py): the LeNet-5 every machine tests with."""

from __future__ import annotations

import pytest

import cnnlab
from tests.trained import fashion_data, fashion_model, train_fashion_model


def _accuracy(model, n=1000) -> float:
    x, y = fashion_data(train=False, n=n)
    with cnnlab.no_grad():
        pred = model(cnnlab.tensor(x)).numpy().argmax(1)
    return float((pred == y).mean())


def test_the_stored_fashion_model_is_a_trained_one():
    model = fashion_model()
    assert not model.training and fashion_model() is model  # loaded once per session
    assert 0.72 < _accuracy(model) < 0.85  # 77.6% on all 10,000 test images


@pytest.mark.slow
def test_training_again_gives_a_model_of_the_same_quality():
    # not the same bits on another machine (BLAS's summation order differs): the same quality
    again = _accuracy(train_fashion_model(), n=2000)
    assert abs(again - _accuracy(fashion_model(), n=2000)) < 0.03

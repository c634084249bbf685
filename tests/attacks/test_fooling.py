"""Fooling images: noise the network calls each class with >= 99% confidence."""

from __future__ import annotations

import numpy as np
import pytest

import cnnlab
from cnnlab.attacks import fooling_images, predict_proba


@pytest.mark.parametrize("start", ["noise", "blank"])
def test_gradient_fooling_images_for_every_class(fashion, start):
    model = fashion[0]
    r = fooling_images(
        model, (1, 28, 28), method="gradient", start=start, rng=np.random.default_rng(0)
    )
    print(f"gradient fooling ({start}): min confidence {r.confidence.min():.4f}")
    assert r.success.all() and (r.confidence >= 0.99).all()
    p = predict_proba(model, r.images)
    np.testing.assert_array_equal(p.argmax(1), np.arange(10))
    assert r.images.min() >= 0 and r.images.max() <= 1


def test_evolved_fooling_images_for_every_class(fashion):
    model = fashion[0]
    r = fooling_images(
        model, (1, 28, 28), method="evolution", steps=300, rng=np.random.default_rng(0)
    )
    print(
        f"evolved fooling: min confidence {r.confidence.min():.4f} after {r.iterations} generations"
    )
    assert r.success.all() and (r.confidence >= 0.99).all()


def test_failure_is_reported():
    cnnlab.manual_seed(0)
    from cnnlab import nn

    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).eval()
    model[1].weight.array[...] = 0.0  # constant output: 1/3 for every class, forever
    r = fooling_images(model, (1, 2, 2), method="gradient", steps=3)
    assert not r.success.any() and r.success_rate == 0.0
    r = fooling_images(model, (1, 2, 2), method="evolution", steps=2, popsize=4)
    assert not r.success.any()
    with pytest.raises(ValueError, match="method"):
        fooling_images(model, (1, 2, 2), method="magic")

"""The one-pixel attack: pixel writing, at most k changed pixels, and a model a single pixel
can flip."""

from __future__ import annotations

import numpy as np
import pytest

import cnnlab
from cnnlab import nn
from cnnlab.attacks import one_pixel
from cnnlab.attacks.one_pixel import apply_pixels
from tests.attacks.toys import images, tiny_cnn


def test_apply_pixels_writes_each_candidate():
    x = np.zeros((2, 3, 4, 5), np.float32)
    cand = np.array(
        [
            [[1.2, 3.9, 0.1, 0.2, 0.3], [0, 0, 1, 1, 1]],
            [[3.5, 4.5, 0.5, 0.5, 0.5], [2, 2, 0.9, 0.8, 0.7]],
        ]
    )
    out = apply_pixels(x, cand)
    assert out.shape == (4, 3, 4, 5)
    np.testing.assert_allclose(out[0, :, 1, 3], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(out[1, :, 0, 0], [1, 1, 1])
    np.testing.assert_allclose(out[2, :, 3, 4], [0.5, 0.5, 0.5])
    np.testing.assert_allclose(out[3, :, 2, 2], [0.9, 0.8, 0.7])
    assert (out != 0).any(axis=1).sum() == 4  # one pixel each, nothing else touched


def pixel_sensitive_model():
    """Class 1 when pixel (5, 6) is bright, else class 0."""
    cnnlab.manual_seed(0)
    m = nn.Sequential(nn.Flatten(), nn.Linear(64, 2)).eval()
    w = np.zeros((2, 64), np.float32)
    w[1, 5 * 8 + 6] = 10.0
    m[1].weight.array[...] = w
    m[1].bias.array[...] = np.array([5.0, 0.0], np.float32)
    return m


@pytest.mark.parametrize("targeted", [False, True])
def test_finds_the_one_pixel_that_matters(targeted):
    model = pixel_sensitive_model()
    x = images(4) * 0.2  # all dark: class 0
    r = one_pixel(
        model,
        x,
        target=1 if targeted else None,
        popsize=40,
        maxiter=30,
        rng=np.random.default_rng(0),
    )
    assert r.success.all() and (r.adv_pred == 1).all()
    changed = (r.x_adv != r.x).any(axis=1)
    assert changed.sum(axis=(1, 2)).max() == 1 and changed[:, 5, 6].all()


@pytest.mark.parametrize("pixels", [1, 3, 5])
def test_changes_at_most_k_pixels_and_reports_honestly(pixels):
    model = tiny_cnn(channels=3)
    x = images(4, channels=3)
    r = one_pixel(model, x, pixels=pixels, popsize=8, maxiter=3, rng=np.random.default_rng(0))
    changed = (r.x_adv != r.x).any(axis=1).sum(axis=(1, 2))
    assert (changed <= pixels).all()
    assert r.x_adv.min() >= 0 and r.x_adv.max() <= 1
    np.testing.assert_array_equal(r.success, r.adv_pred != r.labels)


def test_fashion_model(fashion):
    model, x, y = fashion
    r = one_pixel(
        model, x[:12], y[:12], pixels=3, popsize=40, maxiter=15, rng=np.random.default_rng(0)
    )
    print(f"3-pixel attack on LeNet-5: success {r.success_rate:.2f}")
    assert 0 <= r.success_rate <= 1
    assert ((r.x_adv != r.x).any(axis=1).sum(axis=(1, 2)) <= 3).all()

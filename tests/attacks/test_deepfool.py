"""DeepFool: exact on a linear classifier, bounds, and on the trained LeNet-5."""

from __future__ import annotations

import numpy as np
import pytest

import cnnlab
from cnnlab import nn
from cnnlab.attacks import deepfool
from tests.attacks.toys import images, tiny_cnn


def linear_model(seed=0, classes=4, d=16):
    cnnlab.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(d, classes)).double().eval()


def nearest_boundary(model, x, norm):
    """Distance from each x to the nearest decision boundary of a linear classifier (loop)."""
    W = np.asarray(model[1].weight.array)
    b = np.asarray(model[1].bias.array)
    out = []
    for xi in x.reshape(len(x), -1):
        f = W @ xi + b
        k0 = f.argmax()
        dists = [
            abs(f[k] - f[k0]) / np.linalg.norm(W[k] - W[k0], 1 if norm == "inf" else 2)
            for k in range(len(f))
            if k != k0
        ]
        out.append(min(dists))
    return np.array(out)


@pytest.mark.parametrize("norm", ["2", "inf"])
def test_linear_classifier_is_fooled_at_the_nearest_boundary(norm):
    model = linear_model()
    # unbounded in practice: bounds far away so clipping never acts
    x = (np.random.default_rng(0).uniform(-1, 1, (10, 1, 4, 4)) * 0.1).astype(np.float64)
    r = deepfool(model, x, norm=norm, overshoot=0.02, bounds=(-100.0, 100.0))
    assert r.success.all()
    # one step lands (1 + overshoot) times the distance to the nearest boundary away
    size = r.l2 if norm == "2" else r.linf
    np.testing.assert_allclose(size, 1.02 * nearest_boundary(model, x, norm), rtol=1e-3, atol=2e-4)


def test_bounds_and_honest_success():
    model = tiny_cnn()
    x = images(8)
    r = deepfool(model, x, max_iter=3)
    assert r.x_adv.min() >= 0 and r.x_adv.max() <= 1
    np.testing.assert_array_equal(r.success, r.adv_pred != r.labels)


def test_deepfool_on_the_fashion_model(fashion):
    model, x, y = fashion
    r = deepfool(model, x[:24], y[:24], num_candidates=4)
    s = r.summary()
    print(f"DeepFool L2: success {s['success_rate']:.2f}, median L2 {s['median_l2']:.3f}")
    assert r.success_rate >= 0.9

"""Szegedy et al.'s minimal perturbation: success rate and norms on the trained LeNet-5."""

from __future__ import annotations

import numpy as np

from cnnlab.attacks import deepfool, minimal_perturbation
from tests.attacks.toys import images, tiny_cnn


def test_untargeted_on_the_fashion_model(fashion):
    model, x, y = fashion
    x, y = x[:24], y[:24]
    r = minimal_perturbation(model, x, y, lam=0.1, search_steps=5, steps=30, lr=0.02)
    s = r.summary()
    print(f"minimal (untargeted): success {s['success_rate']:.3f}, median L2 {s['median_l2']:.3f}")
    assert r.success_rate >= 0.95
    assert r.x_adv.min() >= 0 and r.x_adv.max() <= 1
    # the λ search finds perturbations no larger than a plain DeepFool step's, typically
    df = deepfool(model, x, y, num_candidates=4)
    assert s["median_l2"] < 2 * df.norm_stats()["median_l2"]


def test_targeted_on_the_fashion_model(fashion):
    model, x, y = fashion
    x, y = x[:16], y[:16]
    target = (y + 1) % 10
    r = minimal_perturbation(model, x, y, target=target, search_steps=4, steps=30)
    print(
        f"minimal (targeted): success {r.success_rate:.3f}, "
        f"median L2 {r.norm_stats()['median_l2']:.3f}"
    )
    assert r.success_rate >= 0.95
    np.testing.assert_array_equal(r.success, r.adv_pred == target)


def test_failures_come_back_unchanged():
    model = tiny_cnn()
    x = images(6)
    r = minimal_perturbation(model, x, lam=1e6, search_steps=1, steps=3, lr=1e-4)
    assert not r.success.any()
    np.testing.assert_array_equal(r.x_adv, x)
    assert np.isnan(r.norm_stats()["median_l2"])

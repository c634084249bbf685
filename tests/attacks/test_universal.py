"""Universal perturbations: one v for all images, held-out fooling rate, ξ-ball."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab.attacks import fooling_rate, universal, universal_perturbation
from tests.attacks.toys import images, tiny_cnn


def test_universal_fools_held_out_fashion_images(fashion_all):
    model, x, y = fashion_all
    x_train, x_test, y_test = x[:200], x[500:800], y[500:800]
    r = universal(
        model,
        x_train,
        x_test,
        y_test,
        xi=4.0,
        norm="2",
        max_epochs=2,
        df_max_iter=10,
        num_candidates=4,
        rng=np.random.default_rng(0),
    )
    v = r.params["v"]
    rate = r.params["fooling_rate"]
    print(
        f"universal L2 ξ=4: held-out fooling rate {rate:.3f} "
        f"(train {r.params['train_fooling_rate']:.3f}); accuracy "
        f"{r.params['test_accuracy']:.3f} -> {r.params['adv_test_accuracy']:.3f}"
    )
    assert np.sqrt((v**2).sum()) <= 4.0 + 1e-4
    assert rate >= 0.3  # measured 0.63 with this model and seed
    assert rate == pytest.approx(fooling_rate(model, x_test, v))
    assert r.x_adv.min() >= 0 and r.x_adv.max() <= 1
    # one perturbation for every image (where clipping does not act)
    d = r.x_adv - r.x
    inside = (r.x + v > 0) & (r.x + v < 1)
    np.testing.assert_allclose(d[inside], np.broadcast_to(v, d.shape)[inside], atol=1e-6)


@pytest.mark.parametrize("norm,xi", [("inf", 0.1), ("2", 0.5)])
def test_perturbation_stays_in_the_xi_ball(norm, xi):
    model = tiny_cnn()
    v, history = universal_perturbation(
        model,
        images(12),
        xi=xi,
        norm=norm,
        max_epochs=2,
        df_max_iter=3,
        rng=np.random.default_rng(0),
    )
    assert v.shape == (1, 1, 8, 8)
    size = np.abs(v).max() if norm == "inf" else np.sqrt((v**2).sum())
    assert size <= xi + 1e-6
    assert 1 <= len(history) <= 2 and all(0 <= h <= 1 for h in history)


def test_zero_radius_fools_nothing():
    model = tiny_cnn()
    r = universal(model, images(8), images(8, seed=1), xi=0.0, max_epochs=1, df_max_iter=2)
    assert r.params["fooling_rate"] == 0.0 and not r.success.any()

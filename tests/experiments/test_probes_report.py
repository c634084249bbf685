"""Probes (layer statistics, shifts) and the report's verdict helpers."""

import numpy as np
import pytest

from cnnlab.experiments import report
from cnnlab.experiments.builders import deep_mlp
from cnnlab.experiments.pooling import shift_images
from cnnlab.experiments.probes import layer_statistics


def _stats(init, seed=0, depth=30):
    import cnnlab

    cnnlab.manual_seed(seed)
    x = np.random.default_rng(1).standard_normal((256, 784)).astype(np.float32)
    y = np.random.default_rng(2).integers(0, 10, 256)
    return layer_statistics(deep_mlp(784, 10, depth, 128, "relu", init), x, y)


def test_layer_statistics_he_is_steady_small_vanishes_large_explodes():
    he, small, large = _stats("he"), _stats("small"), _stats("large")
    ratio = np.array(he["act_std"]) / he["input_std"]
    assert len(ratio) == 30 and ratio.min() >= 0.5 and ratio.max() <= 2.0
    assert small["act_std"][-1] / small["input_std"] < 1e-20
    assert not np.isfinite(large["act_std"][-1]) or large["act_std"][-1] > 1e20
    assert _stats("he") == he  # deterministic for a seed


def test_layer_statistics_gradient_std_matches_a_manual_backward():
    import cnnlab
    from cnnlab import nn

    s = _stats("he", depth=3)
    cnnlab.manual_seed(0)
    m = deep_mlp(784, 10, 3, 128, "relu", "he")
    x = np.random.default_rng(1).standard_normal((256, 784)).astype(np.float32)
    y = np.random.default_rng(2).integers(0, 10, 256)
    h1 = m[1](m[0](cnnlab.tensor(x)))
    h1.retain_grad()
    loss = nn.CrossEntropyLoss()(m[5](m[4](m[3](m[2](h1)))), cnnlab.tensor(y))
    loss.backward()
    assert s["act_std"][0] == pytest.approx(float(h1.numpy().std()), rel=1e-5)
    assert s["grad_std"][0] == pytest.approx(
        float(np.std(np.asarray(getattr(h1.grad, "array", h1.grad)))), rel=1e-5
    )


def test_shift_images_moves_and_fills():
    x = np.arange(2 * 1 * 4 * 5, dtype=np.float32).reshape(2, 1, 4, 5)
    right = shift_images(x, 0, 2, np.array([-1.0]))
    assert np.array_equal(right[:, :, :, 2:], x[:, :, :, :3]) and np.all(right[:, :, :, :2] == -1)
    up = shift_images(x, -1, 0, np.array([7.0]))
    assert np.array_equal(up[:, :, :3], x[:, :, 1:]) and np.all(up[:, :, 3] == 7)
    assert np.array_equal(shift_images(x, 0, 0, np.array([0.0])), x)


def test_compare_and_verdict():
    assert report.compare([0.9, 0.92], [0.8, 0.85]) == "holds"
    assert report.compare([0.9, 0.92], [0.8, 0.85], margin=0.1) == "unclear"
    assert report.compare([0.7], [0.8, 0.85]) == "fails"
    assert report.compare([0.9, 0.7], [0.8]) == "unclear"  # the seeds disagree
    assert report.compare([float("nan")], [0.8]) == "unclear"
    holds, fails, unclear = (report.criterion("x", s) for s in ("holds", "fails", "unclear"))
    assert report.verdict([holds, holds]) == "reproduced"
    assert report.verdict([holds, fails, unclear]) == "not reproduced"
    assert report.verdict([holds, unclear]) == "inconclusive"
    with pytest.raises(ValueError, match="status must be"):
        report.criterion("x", "maybe")


def test_fmt_and_spread():
    assert report.fmt([0.5]) == "0.500"
    assert report.fmt([0.5, 0.7]) == "0.600 (0.500-0.700)"
    assert report.fmt([0.25], percent=True) == "25.0%"
    assert report.fmt([]) == "n/a"
    s = report.spread([1.0, 3.0, float("inf")])
    assert s["n"] == 2 and s["mean"] == 2.0 and s["std"] == 1.0

"""nn.init: gains, fans, distribution statistics, seeded determinism, in-place fills."""

import math

import numpy as np
import pytest

import cnnlab
from cnnlab.nn import Parameter, init


def _param(*shape):
    return Parameter(np.zeros(shape, np.float32))


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="unsupported"):
        init.calculate_gain("swish")


def test_fan_in_and_fan_out():
    assert init._calculate_fan_in_and_fan_out(_param(16, 3, 5, 5)) == (75, 400)
    assert init._calculate_fan_in_and_fan_out(_param(10, 784)) == (784, 10)
    with pytest.raises(ValueError, match="at least 2"):
        init._calculate_fan_in_and_fan_out(_param(5))


@pytest.mark.parametrize(
    "fn, expected_std",
    [
        (lambda t: init.kaiming_normal_(t), math.sqrt(2 / (64 * 9))),
        (lambda t: init.kaiming_normal_(t, mode="fan_out"), math.sqrt(2 / (128 * 9))),
        (lambda t: init.kaiming_uniform_(t), math.sqrt(2 / (64 * 9))),
        (lambda t: init.xavier_normal_(t), math.sqrt(2 / (64 * 9 + 128 * 9))),
        (lambda t: init.xavier_uniform_(t, gain=2.0), 2 * math.sqrt(2 / (64 * 9 + 128 * 9))),
        (lambda t: init.normal_(t, 1.0, 0.5), 0.5),
        (lambda t: init.uniform_(t, -1, 1), 1 / math.sqrt(3)),
    ],
)
def test_distribution_std(fn, expected_std):
    w = _param(128, 64, 3, 3)  # 73,728 samples: std within ~1%
    assert fn(w) is w
    assert w.dtype == np.float32
    assert w.array.std() == pytest.approx(expected_std, rel=0.03)


def test_uniform_bounds_and_kaiming_mean():
    w = init.kaiming_uniform_(_param(256, 100))
    bound = math.sqrt(2) * math.sqrt(3 / 100)
    assert np.abs(w.array).max() <= bound and np.abs(w.array).max() > 0.95 * bound
    w = init.kaiming_normal_(_param(512, 512))
    assert abs(w.array.mean()) < 0.01 * w.array.std()


def test_manual_seed_makes_init_repeat_and_unseeded_draws_differ():
    cnnlab.manual_seed(3)
    a = init.kaiming_normal_(_param(8, 4)).array.copy()
    cnnlab.manual_seed(3)
    b = init.kaiming_normal_(_param(8, 4)).array.copy()
    c = init.kaiming_normal_(_param(8, 4)).array.copy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


def test_constant_fills_in_place_without_graph():
    w = _param(3, 2)
    arr = w.array
    init.ones_(w)
    assert w.array is arr and np.all(arr == 1)
    init.constant_(w, 0.25)
    assert np.all(w.array == 0.25)
    init.zeros_(w)
    assert np.all(w.array == 0) and w.grad is None and w.is_leaf
    raw = np.empty((4, 4), np.float64)  # raw arrays work too
    init.normal_(raw)
    assert raw.std() > 0


def test_fan_mode_validated():
    with pytest.raises(ValueError, match="fan_in"):
        init.kaiming_normal_(_param(3, 3), mode="fan_avg")

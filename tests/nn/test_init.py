"""nn.init: gains, fans, distribution statistics, seeded determinism, in-place fills."""

import math

import numpy as np
import pytest

import cnnlab
from cnnlab import nn
from cnnlab.nn import Parameter, init
from tests.helpers import requires_torch, torch


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


# ---------------------------------------------------------- the layers' default initialisation
INIT_LAYERS = {  # name -> (cnnlab layer, torch layer) built with the same arguments
    "linear_784_512": lambda m: m.Linear(784, 512),
    "linear_64_10": lambda m: m.Linear(64, 10),
    "conv2d_64_128_3": lambda m: m.Conv2d(64, 128, 3),
    "conv2d_grouped": lambda m: m.Conv2d(16, 32, 5, groups=4),
    "conv1d_8_16_7": lambda m: m.Conv1d(8, 16, 7),
    "conv_transpose2d": lambda m: m.ConvTranspose2d(32, 16, 4, stride=2),
}


@requires_torch
@pytest.mark.parametrize("name", INIT_LAYERS)
def test_default_init_has_torchs_statistics(name):
    """kaiming_uniform_(a=sqrt(5)) weights and U(+-1/sqrt(fan_in)) biases, as PyTorch's."""
    ours = INIT_LAYERS[name](nn)
    torch.manual_seed(0)
    theirs = INIT_LAYERS[name](torch.nn)
    assert ours.weight.dtype == np.float32
    shape = tuple(theirs.weight.shape)
    bound = 1 / np.sqrt(shape[1] * np.prod(shape[2:]))  # 1/sqrt(fan_in), weight and bias
    for key in ("weight", "bias"):
        a = getattr(ours, key).numpy()
        b = getattr(theirs, key).detach().numpy()
        assert a.shape == b.shape and np.abs(b).max() <= bound
        assert np.abs(a).max() <= bound * (1 + 1e-6), f"{key} exceeds torch's range"
        assert a.std() == pytest.approx(b.std(), rel=0.1 if a.size > 500 else 0.4), key
        if a.size > 500:
            assert a.std() == pytest.approx(bound / np.sqrt(3), rel=0.05), key


def test_default_init_bounds_and_other_layers():
    lin = nn.Linear(784, 512)
    bound = 1 / np.sqrt(784)  # kaiming_uniform_(a=sqrt(5)): gain sqrt(1/3) * sqrt(3/fan_in)
    assert lin.weight.array.std() == pytest.approx(bound / np.sqrt(3), rel=0.01)  # 0.0206
    assert np.abs(lin.bias.numpy()).max() <= bound and lin.bias.numpy().std() > 0.5 * bound
    assert nn.Linear(500, 300, dtype=np.float64).weight.dtype == np.float64
    bn = nn.BatchNorm2d(3)
    assert np.all(bn.weight.array == 1) and np.all(bn.bias.array == 0)
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.shape == ()


def test_conv_and_linear_seeded():
    cnnlab.manual_seed(7)
    a = nn.Conv2d(2, 3, 3).weight.array.copy()
    cnnlab.manual_seed(7)
    np.testing.assert_array_equal(nn.Conv2d(2, 3, 3).weight.array, a)

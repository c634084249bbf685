"""The zoo keeps He initialisation explicitly while the layers default to PyTorch's."""

import numpy as np
import pytest

import cnnlab
from cnnlab import models, nn
from cnnlab.models.he_init import he_init_, he_initialised, he_layer_
from cnnlab.nn import init

ZOO = ["fashion_cnn", "lenet5", "alexnet_small", "resnet20", "conv_lstm"]


def _weighted(model):
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def test_he_init_draws_he_normal_and_zero_bias():
    cnnlab.manual_seed(0)
    layer = he_init_(nn.Conv2d(64, 128, 3))
    assert layer.weight.numpy().std() == pytest.approx(np.sqrt(2 / (64 * 9)), rel=0.02)
    assert np.all(layer.bias.numpy() == 0)
    lin = he_init_(nn.Linear(500, 300))
    assert lin.weight.numpy().std() == pytest.approx(np.sqrt(2 / 500), rel=0.02)


@pytest.mark.parametrize("name", ZOO)
def test_zoo_convs_are_he_as_before(name):
    """Seeded statistics: every conv He-normal with zero bias, as the layers' old default."""
    cnnlab.manual_seed(0)
    model = models.create(name)
    convs = [m for m in _weighted(model) if isinstance(m, nn.Conv2d)]
    assert convs
    w = np.concatenate(
        [m.weight.numpy().ravel() / np.sqrt(2 / np.prod(m.weight.shape[1:])) for m in convs]
    )
    assert w.std() == pytest.approx(1.0, rel=0.05)  # N(0, 2/fan_in) pooled over the layers
    assert all(m.bias is None or not m.bias.numpy().any() for m in convs)


def test_default_model_head_keeps_pytorchs_default():
    """fashion_cnn's classifier was PyTorch's uniform default before and still is."""
    cnnlab.manual_seed(0)
    fc = models.create("fashion_cnn").classifier[-1]
    bound = 1 / np.sqrt(fc.in_features)
    assert np.abs(fc.weight.numpy()).max() <= bound and fc.bias.numpy().any()


def test_layer_init_block_replaces_the_default_and_draws_only_what_it_draws():
    cnnlab.manual_seed(3)
    with init.layer_init(he_layer_):
        inside = nn.Linear(400, 50)
        with init.layer_init(lambda layer: init.ones_(layer.weight)):
            assert np.all(nn.Conv2d(2, 3, 3).weight.numpy() == 1)
        assert init.layer_init_override() is he_layer_  # the outer block is back
    assert init.layer_init_override() is None
    assert not inside.bias.numpy().any()
    assert inside.weight.numpy().std() == pytest.approx(np.sqrt(2 / 400), rel=0.05)
    cnnlab.manual_seed(3)  # the same draws as one kaiming_normal_ on a fresh weight
    expected = cnnlab.zeros(50, 400)
    init.kaiming_normal_(expected, nonlinearity="relu")
    np.testing.assert_array_equal(inside.weight.numpy(), expected.numpy())
    outside = nn.Linear(400, 50)
    assert np.abs(outside.weight.numpy()).max() <= 1 / np.sqrt(400) and outside.bias.numpy().any()


def test_he_initialised_decorates_a_factory():
    build = he_initialised(lambda: nn.Sequential(nn.Linear(300, 200), nn.Linear(200, 10)))
    assert not build()[0].bias.numpy().any()
    assert init.layer_init_override() is None

"""The experiments' network variants: shapes, parameter counts, initialisations."""

import numpy as np
import pytest

import cnnlab
from cnnlab import models, nn
from cnnlab.experiments.builders import (
    ABLATIONS,
    POOLINGS,
    ablated_alexnet,
    apply_init,
    deep_mlp,
    pooling_cnn,
)


def _x(n=2, c=1, s=28):
    return cnnlab.tensor(np.random.default_rng(0).standard_normal((n, c, s, s), np.float32))


def test_deep_mlp_layers_and_batch_norm():
    m = deep_mlp(784, 10, depth=4, width=100, activation="sigmoid", batch_norm=True)
    linears = [x for x in m.modules() if isinstance(x, nn.Linear)]
    assert [(x.in_features, x.out_features) for x in linears] == [
        (784, 100),
        (100, 100),
        (100, 100),
        (100, 10),
    ]
    assert sum(isinstance(x, nn.BatchNorm1d) for x in m.modules()) == 3
    assert sum(isinstance(x, nn.Sigmoid) for x in m.modules()) == 3
    assert linears[0].bias is None  # batch norm's shift replaces the bias
    assert m(_x()).shape == (2, 10)
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        deep_mlp(784, activation="swish")


@pytest.mark.parametrize(
    "name, std", [("he", lambda k, m: (2 / k) ** 0.5), ("small", lambda k, m: 0.01)]
)
def test_apply_init_draws_the_named_std(name, std):
    m = apply_init(nn.Sequential(nn.Linear(500, 400), nn.Linear(400, 300)), name)
    for layer in m:
        w = layer.weight.numpy()
        k, out = w.shape[1], w.shape[0]
        assert w.std() == pytest.approx(std(k, out), rel=0.02)
        assert np.all(layer.bias.numpy() == 0)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_pooling_cnn_variants(pooling):
    m = pooling_cnn(1, 10, 28, pooling)
    assert m(_x()).shape == (2, 10)
    fc = [x for x in m.modules() if isinstance(x, nn.Linear)][0]
    side = {"max": 7, "avg": 7, "strided": 7, "none": 28}[pooling]
    assert fc.in_features == 64 * side * side
    assert any(isinstance(x, nn.MaxPool2d) for x in m.modules()) == (pooling == "max")


def test_ablated_alexnet_removes_exactly_the_named_layers():
    full = models.create("alexnet_small", num_classes=10, in_channels=1)
    assert ablated_alexnet(()).num_parameters() == full.num_parameters()
    convs = [m for m in full.features if isinstance(m, nn.Conv2d)]
    fcs = [m for m in full.classifier if isinstance(m, nn.Linear)]
    p = {
        n: m.num_parameters() for n, m in zip(["conv1", "conv2", "conv3", "conv4", "conv5"], convs)
    }
    no_fc7 = ablated_alexnet(("fc7",))
    assert full.num_parameters() - no_fc7.num_parameters() == fcs[1].num_parameters()
    no_convs = ablated_alexnet(("conv3", "conv4"))
    conv5_now = 128 * 128 * 9 + 128  # conv5 now reads conv2's 128 channels
    assert no_convs.num_parameters() == (
        full.num_parameters() - p["conv3"] - p["conv4"] - p["conv5"] + conv5_now
    )
    for drop in ABLATIONS.values():
        assert ablated_alexnet(drop)(_x()).shape == (2, 10)
    with pytest.raises(ValueError, match="cannot drop \\['conv9'\\]"):
        ablated_alexnet(("conv9",))

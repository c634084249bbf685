"""Analytic receptive fields agree with the measured ones, on hand-made nets and the zoo."""

import pytest

from cnnlab import models, nn
from cnnlab.inspect import analytic_receptive_field, empirical_receptive_field, summary
from cnnlab.models.resnet import BasicBlock


def _agree(model, shape, layer=None):
    a = analytic_receptive_field(model, shape, layer)
    e = empirical_receptive_field(model, shape, layer)
    assert (a["rows"], a["cols"]) == (e["rows"], e["cols"]), (a, e)
    return a


def test_lectures_stack_of_3x3_convs():
    # three 3x3 convs see 7x7; a 2x2 pool in between doubles the jump
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3)
    )
    a = _agree(net, (1, 15, 15))
    assert a["size"] == (7, 7)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.Conv2d(2, 2, 3))
    a = _agree(net, (1, 16, 16))
    assert a["size"] == (8, 8)
    s = summary(net, (1, 16, 16))
    assert s.rows[-1].rf_size == (8, 8) and s.rows[-1].rf_jump == (2, 2)


@pytest.mark.parametrize("dilation,stride,padding", [(2, 1, 0), (1, 2, 1), (3, 1, 3), (2, 2, 2)])
def test_dilation_stride_padding(dilation, stride, padding):
    net = nn.Sequential(
        nn.Conv2d(1, 2, 3, stride=stride, padding=padding, dilation=dilation),
        nn.ReLU(),
        nn.Conv2d(2, 1, (3, 5), dilation=dilation),
    )
    _agree(net, (1, 31, 29))


def test_residual_branches_take_the_union():
    block = BasicBlock(4, 8, stride=2, shortcut="A")
    a = _agree(block, (4, 16, 16))
    assert a["size"] == (7, 7)  # conv3x3/2 then conv3x3: 3 + 2*2 = 7; the shortcut sees 1


def test_transposed_convolution_and_pooling_ceil_mode():
    net = nn.Sequential(nn.MaxPool2d(3, 2, ceil_mode=True), nn.Conv2d(1, 1, 3, padding=1))
    _agree(net, (1, 17, 17))


ZOO = [
    "lenet5",
    "alexnet_small",
    "resnet20",
    "plain20",
    "vgg11_cifar",
    "vgg11_bn_cifar",
    "dcgan_discriminator",
]


@pytest.mark.parametrize("name", ZOO)
def test_zoo_analytic_equals_empirical_on_the_last_feature_map(name):
    info = models.info(name)
    model = models.create(name)
    four_d = [
        n
        for n, m in model.named_modules()
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d))
    ]
    _agree(model, info["input_shape"], four_d[-1])
    _agree(model, info["input_shape"], four_d[len(four_d) // 2])


@pytest.mark.parametrize(
    "name",
    ["resnet18", "efficientnet_lite0", "alexnet", pytest.param("vgg16", marks=pytest.mark.slow)],
)
def test_big_zoo_models_at_reduced_size(name):
    model = models.create(name)
    four_d = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    _agree(model, (3, 96, 96), four_d[len(four_d) // 3])


def test_asymmetric_same_padding_and_tf_same_convs():
    # 'same' with an even kernel pads more on the bottom/right, as PyTorch
    net = nn.Sequential(nn.Conv2d(1, 2, (4, 2), padding="same"), nn.ReLU(), nn.Conv2d(2, 1, 3))
    _agree(net, (1, 12, 11))

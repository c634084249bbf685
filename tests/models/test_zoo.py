"""Every zoo model: output shape, parameter count against an independent count, a training
step, state_dict round trip, summary totals; big ones at their nominal ImageNet size."""

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from cnnlab import models, optim
from cnnlab.inspect import summary

SMALL = [n for n in models.names() if models.info(n)["input_shape"][1:] in ((28, 28), (32, 32))]
SLOW = {"vgg11", "vgg16", "vgg16_bn", "vgg19", "resnet34"}  # > 10 s each on 2 cores
BIG = [
    pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
    for n in [
        "alexnet",
        "vgg11",
        "vgg16",
        "vgg16_bn",
        "vgg19",
        "resnet18",
        "resnet34",
        "efficientnet_lite0",
    ]
]

# Independent counts: torchvision's published figures for the same architectures, or the
# layer-by-layer formula written out here.
KNOWN_PARAMS = {
    "vgg16": 138_357_544,
    "vgg11": 132_863_336,
    "vgg19": 143_667_240,
    "vgg16_bn": 138_365_992,
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    # conv 96@11x11x3, 256@5x5x96, 384@3x3x256, 384@3x3x384, 256@3x3x384, fc 9216-4096-4096-1000
    "alexnet": (96 * 363 + 96)
    + (256 * 2400 + 256)
    + (384 * 2304 + 384)
    + (384 * 3456 + 384)
    + (256 * 3456 + 256)
    + (9216 * 4096 + 4096)
    + (4096 * 4096 + 4096)
    + (4096 * 1000 + 1000),
    "efficientnet_lite0": 4_652_008,
}


def cifar_resnet_params(depth, classes=10):
    """Layer-by-layer count of an option-A CIFAR ResNet (He et al. report 0.27M for depth 20
    and 1.7M for depth 110)."""
    n = (depth - 2) // 6
    conv = lambda cin, cout: cin * cout * 9  # noqa: E731
    bn = lambda c: 2 * c  # noqa: E731
    total = conv(3, 16) + bn(16)
    cin = 16
    for width in (16, 32, 64):
        for _ in range(n):
            total += conv(cin, width) + bn(width) + conv(width, width) + bn(width)
            cin = width
    return total + 64 * classes + classes


@pytest.mark.parametrize("depth", [20, 32, 44, 56, 110])
def test_cifar_resnet_counts(depth):
    count = cifar_resnet_params(depth)
    assert n_params(models.create(f"resnet{depth}")) == count
    assert n_params(models.create(f"plain{depth}")) == count
    if depth == 20:
        assert round(count / 1e6, 2) == 0.27
    if depth == 110:
        assert round(count / 1e6, 1) == 1.7


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in SLOW - {"vgg16"} else n for n in KNOWN_PARAMS],
)
def test_parameter_counts(name):
    assert n_params(models.create(name)) == KNOWN_PARAMS[name]


def test_plain_nets_equal_resnets_in_parameters_with_option_a():
    for d in (20, 56):
        assert n_params(models.create(f"plain{d}")) == n_params(models.create(f"resnet{d}"))
    assert n_params(models.create("resnet20", shortcut="B")) > cifar_resnet_params(20)


@pytest.mark.parametrize("name", SMALL)
def test_small_models_train_one_step_and_round_trip(name):
    info = models.info(name)
    model = models.create(name)
    x = cnnlab.randn(2, *info["input_shape"])
    out = model(x)
    if info["num_classes"]:
        assert out.shape == (2, info["num_classes"])
        loss = F.cross_entropy(out, cnnlab.tensor(np.array([0, 1])))
    else:
        loss = (out * out).mean()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    opt.zero_grad()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    opt.step()
    after = model.state_dict()
    assert any(not np.array_equal(before[k], after[k]) for k in before)
    fresh = models.create(name)
    fresh.load_state_dict(after)
    outs = []
    for m in (model, fresh):  # train mode: batch statistics, same dropout masks
        cnnlab.manual_seed(1)
        outs.append(m(x).numpy())
    assert np.isfinite(outs[0]).all()
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", BIG)
def test_big_models_give_the_nominal_output_shape(name):
    model = models.create(name).eval()
    with cnnlab.no_grad():
        out = model(cnnlab.randn(1, 3, 224, 224))
    assert out.shape == (1, 1000)


def test_alexnet_has_the_lectures_shapes():
    s = summary(models.create("alexnet"), (3, 224, 224))
    convs = [r.output_shape for r in s.rows if r.type == "Conv2d"]
    assert convs == [(96, 55, 55), (256, 27, 27), (384, 13, 13), (384, 13, 13), (256, 13, 13)]
    fcs = [r.output_shape for r in s.rows if r.type == "Linear"]
    assert fcs == [(4096,), (4096,), (1000,)]


@pytest.mark.parametrize(
    "name", ["lenet5", "resnet20", "vgg11_bn_cifar", "alexnet_small", "dcgan_discriminator"]
)
def test_summary_totals_equal_the_sum_over_layers_and_the_model(name):
    info = models.info(name)
    model = models.create(name)
    s = summary(model, info["input_shape"])
    assert s.totals["params"] == sum(r.params for r in s.rows) == n_params(model)
    assert s.totals["macs"] == sum(r.macs for r in s.rows) > 0
    assert "Total params" in str(s)


def test_dcgan_generator_makes_images_and_uses_normal_002_init():
    g = models.create("dcgan_generator", image_size=32, out_channels=1)
    out = g(cnnlab.randn(4, 100))
    assert out.shape == (4, 1, 32, 32)
    assert np.abs(out.numpy()).max() <= 1.0
    w = g.main[0].weight.numpy()
    assert abs(w.std() - 0.02) < 0.002
    d = models.create("dcgan_discriminator", image_size=32, in_channels=1)
    assert d(out).shape == (4, 1)


def test_unknown_model_lists_known_names():
    with pytest.raises(ValueError, match="resnet20"):
        models.create("resnet21")

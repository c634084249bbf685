"""DCGAN sizes (28 = 7 x 4, powers of two) and the conditional variant."""

import numpy as np
import pytest

import cnnlab
from cnnlab import models


@pytest.mark.parametrize("size", [16, 28, 32, 64])
def test_generator_and_discriminator_shapes(size):
    g = models.create("dcgan_generator", in_channels=10, out_channels=1, ngf=4, image_size=size)
    d = models.create("dcgan_discriminator", in_channels=1, ndf=4, image_size=size)
    x = g(cnnlab.randn(2, 10))
    assert x.shape == (2, 1, size, size) and abs(x.numpy()).max() <= 1
    assert d(x).shape == (2, 1)


def test_28_starts_from_a_7x7_map():
    g = models.create("dcgan_generator", in_channels=10, out_channels=1, ngf=4, image_size=28)
    assert g.main[0].kernel_size in (7, (7, 7))
    d = models.create("dcgan_discriminator", in_channels=1, ndf=4, image_size=28)
    assert d.main[-1].kernel_size in (7, (7, 7))


@pytest.mark.parametrize("size", [8, 20, 48])
def test_unsupported_sizes_are_refused(size):
    with pytest.raises(ValueError, match="image_size"):
        models.create("dcgan_generator", image_size=size)


def test_conditional_networks_read_the_class():
    g = models.create(
        "dcgan_generator",
        in_channels=6,
        out_channels=1,
        ngf=4,
        image_size=16,
        conditional_classes=3,
    )
    d = models.create(
        "dcgan_discriminator", in_channels=1, ndf=4, image_size=16, conditional_classes=3
    )
    assert g.main[0].in_channels == 9 and d.main[0].in_channels == 4
    z = cnnlab.randn(2, 6)
    g.eval(), d.eval()
    a, b = g(z, np.array([0, 0])), g(z, np.array([2, 2]))
    assert not np.allclose(a.numpy(), b.numpy())
    assert not np.allclose(d(a, np.array([0, 0])).numpy(), d(a, np.array([1, 1])).numpy())
    with pytest.raises(ValueError, match="give labels"):
        g(z)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        g(z, np.array([0, 3]))
    plain = models.create("dcgan_generator", in_channels=6, ngf=4, image_size=16)
    with pytest.raises(ValueError, match="not conditional"):
        plain(z, np.array([0, 1]))


def test_conditional_gradients_reach_the_generator():
    g = models.create(
        "dcgan_generator",
        in_channels=4,
        out_channels=1,
        ngf=4,
        image_size=16,
        conditional_classes=2,
    )
    g(cnnlab.randn(3, 4), np.array([0, 1, 1])).sum().backward()
    assert all(p.grad is not None for p in g.parameters())

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


def _projection_d(num_classes=3):
    cnnlab.manual_seed(1)
    return models.create(
        "dcgan_discriminator",
        in_channels=1,
        ndf=4,
        image_size=16,
        conditional_classes=num_classes,
        conditioning="projection",
    )


def test_projection_discriminator_logit_is_the_head_plus_the_class_projection():
    # Miyato and Koyama 2018: f(x, y) = <w, phi(x)> + <e_y, phi(x)>, with phi the last map
    d = _projection_d().eval()
    assert d.main[0].in_channels == 1  # the image alone: no class maps
    x, y = cnnlab.randn(4, 1, 16, 16), np.array([0, 2, 1, 2])
    phi = d.main[:-1](x).numpy().reshape(4, -1).astype(np.float64)
    w = d.main[-1].weight.numpy().reshape(-1).astype(np.float64)
    e = d.embed.weight.numpy().T.astype(np.float64)  # (classes, features)
    expected = phi @ w + np.einsum("nf,nf->n", phi, e[y])
    np.testing.assert_allclose(d(x, y).numpy()[:, 0], expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(d(x, y).numpy(), d(x, np.array([1, 1, 1, 1])).numpy())


def test_projection_gradients_reach_the_class_embedding_of_the_classes_seen():
    d = _projection_d()
    d(cnnlab.randn(3, 1, 16, 16), np.array([0, 0, 2])).sum().backward()
    g = d.embed.weight.grad.numpy()  # (features, classes)
    assert np.abs(g[:, 0]).sum() > 0 and np.abs(g[:, 2]).sum() > 0
    np.testing.assert_array_equal(g[:, 1], 0)  # class 1 was not in the batch


def test_projection_matches_pytorch_forward_and_backward():
    torch = pytest.importorskip("torch")
    d = _projection_d().eval()
    x = np.random.default_rng(0).standard_normal((2, 1, 16, 16)).astype(np.float32)
    y = np.array([1, 2])
    xt = cnnlab.tensor(x, requires_grad=True)
    out = d(xt, y)
    out.sum().backward()
    sd = {k: torch.tensor(np.asarray(v)) for k, v in d.state_dict().items()}
    tx = torch.tensor(x, requires_grad=True)
    h = torch.nn.functional.leaky_relu(
        torch.nn.functional.conv2d(tx, sd["main.0.weight"], stride=2, padding=1), 0.2
    )
    h = torch.nn.functional.conv2d(h, sd["main.2.weight"], stride=2, padding=1)
    h = torch.nn.functional.batch_norm(
        h, sd["main.3.running_mean"], sd["main.3.running_var"], sd["main.3.weight"],
        sd["main.3.bias"], training=False,
    )  # fmt: skip
    h = torch.nn.functional.leaky_relu(h, 0.2)
    head = torch.nn.functional.conv2d(h, sd["main.5.weight"]).flatten(1)
    e = torch.nn.functional.one_hot(torch.tensor(y), 3).float() @ sd["embed.weight"].T
    ref = head + (h.flatten(1) * e).sum(1, keepdim=True)
    ref.sum().backward()
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_unknown_conditioning_is_refused_by_name():
    with pytest.raises(ValueError, match="conditioning must be one of.*'pooled'"):
        models.create("dcgan_discriminator", conditional_classes=2, conditioning="pooled")

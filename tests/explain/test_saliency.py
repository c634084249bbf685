import numpy as np
import pytest

import cnnlab
from cnnlab import models, nn
from cnnlab.explain import input_gradient, saliency, smooth_grad
from tests.explain.reference import input_grad, lenet_forward, lenet_weights, rectifier
from tests.helpers import requires_torch, torch


def _image(seed=0, shape=(1, 28, 28)):
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


@requires_torch
@pytest.mark.parametrize("target", [None, 3])
def test_saliency_is_the_input_gradient_computed_by_torch(target):
    model = models.create("lenet5")
    x = _image()
    e = saliency(model, x, target=target)
    w = lenet_weights(model)
    t = e.target if target is None else target
    ref = input_grad(lambda z: lenet_forward(w, z, rectifier("plain")), x[None], t)[0]
    np.testing.assert_allclose(e.raw, ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(e.map, np.abs(ref).max(0), rtol=1e-4, atol=1e-6)
    if target is None:  # the default target is the top class
        with torch.no_grad():
            assert e.target == int(lenet_forward(w, torch.tensor(x[None]), torch.relu).argmax())


def test_saliency_of_a_linear_model_is_its_weight_pattern():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 5))
    x = _image(1, (3, 8, 8))
    e = saliency(model, x, target=2)
    pattern = model[1].weight.numpy()[2].reshape(3, 8, 8)
    np.testing.assert_allclose(e.raw, pattern, rtol=1e-6)
    np.testing.assert_allclose(e.map, np.abs(pattern).max(0), rtol=1e-6)


def test_explicit_normalisation_maps_refer_to_the_given_pixels():
    model = nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    x = _image(2, (2, 4, 4))
    mean, std = (0.5, 0.2), (0.25, 2.0)
    e = saliency(model, x, target=1, normalize=(mean, std))
    w = model[1].weight.numpy()[1].reshape(2, 4, 4)
    # d/dx of w . (x - m) / s  =  w / s
    np.testing.assert_allclose(e.raw, w / np.array(std)[:, None, None], rtol=1e-6)


def test_no_grad_is_touched_and_mode_is_restored():
    model = models.create("lenet5").train()
    saliency(model, _image())
    assert model.training
    assert all(p.grad is None for p in model.parameters())


def test_input_gradient_of_a_batch_is_per_image():
    model = models.create("lenet5")
    xs = np.stack([_image(s) for s in range(3)])
    g, t, _ = input_gradient(model, xs, target=4)
    for i in range(3):
        np.testing.assert_allclose(g[i], saliency(model, xs[i], target=4).raw, rtol=1e-5, atol=1e-7)


def test_smoothgrad_averages_gradients_over_noisy_copies():
    model = models.create("lenet5")
    x = _image()
    e0 = smooth_grad(model, x, target=1, samples=3, noise=0.0)
    np.testing.assert_allclose(e0.raw, saliency(model, x, target=1).raw, rtol=1e-5, atol=1e-7)
    e = smooth_grad(model, x, target=1, samples=5, noise=0.2, batch_size=2, seed=3)
    rng = np.random.default_rng(3)
    sigma = 0.2 * float(x.max() - x.min())
    noisy = [x[None] + sigma * rng.standard_normal((n, *x.shape)) for n in (2, 2, 1)]
    noisy = np.concatenate(noisy).astype(np.float32)
    ref = np.mean([saliency(model, z, target=1).raw for z in noisy], axis=0)
    np.testing.assert_allclose(e.raw, ref, rtol=1e-4, atol=1e-7)
    assert not np.allclose(e.raw, e0.raw)


def test_bad_input_shape_raises():
    with pytest.raises(ValueError, match="saliency"):
        saliency(models.create("lenet5"), np.zeros((2, 1, 28, 28), np.float32))
    with pytest.raises(ValueError, match="target"):
        saliency(models.create("lenet5"), _image(), target=10)
    cnnlab.manual_seed(0)

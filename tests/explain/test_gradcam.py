import numpy as np
import pytest

from cnnlab import models
from cnnlab.explain import grad_cam
from tests.explain.reference import lenet_forward, lenet_weights
from tests.helpers import requires_torch, torch


@requires_torch
def test_grad_cam_matches_a_torch_reference():
    model = models.create("lenet5")
    x = np.random.default_rng(0).random((1, 28, 28), dtype=np.float32)
    e = grad_cam(model, x, layer="features.3", target=7)
    taps = {}
    out = lenet_forward(
        lenet_weights(model), torch.tensor(x[None], requires_grad=True), torch.relu, taps
    )
    out[0, 7].backward()
    a, g = taps["conv2"].detach().numpy()[0], taps["conv2"].grad.numpy()[0]
    ref = np.maximum((g.mean(axis=(1, 2))[:, None, None] * a).sum(0), 0)
    np.testing.assert_allclose(e.extra["cam"], ref, rtol=1e-4, atol=1e-6)
    assert e.map.shape == (28, 28) and e.extra["cam"].shape == (10, 10)
    up = torch.nn.functional.interpolate(
        torch.tensor(ref[None, None]), size=(28, 28), mode="bilinear", align_corners=False
    )[0, 0].numpy()
    np.testing.assert_allclose(e.map, up, rtol=1e-4, atol=1e-6)


def test_default_layer_is_the_last_conv_and_bad_layers_raise():
    model = models.create("lenet5")
    x = np.random.default_rng(1).random((1, 28, 28), dtype=np.float32)
    assert grad_cam(model, x).extra["layer"] == "features.3"
    with pytest.raises(ValueError, match="no layer"):
        grad_cam(model, x, layer="nope")
    with pytest.raises(ValueError, match="must output"):
        grad_cam(model, x, layer="classifier.0")

"""Guided backprop and the deconvnet against PyTorch references whose ReLUs are custom
autograd Functions with the modified backward, on the same weights."""

import numpy as np
import pytest

import cnnlab.nn.functional as F
from cnnlab import models, nn
from cnnlab.explain import deconvnet, guided_backprop, saliency
from tests.explain.reference import input_grad, lenet_forward, lenet_weights, rectifier
from tests.helpers import requires_torch, torch

METHODS = {"guided": guided_backprop, "deconv": deconvnet}


@requires_torch
@pytest.mark.parametrize("rule", ["guided", "deconv"])
@pytest.mark.parametrize("seed", [0, 1])
def test_lenet_matches_torch_custom_relu_backward(rule, seed):
    model = models.create("lenet5")
    x = np.random.default_rng(seed).random((1, 28, 28), dtype=np.float32)
    e = METHODS[rule](model, x, target=seed + 2)
    ref = input_grad(
        lambda z: lenet_forward(lenet_weights(model), z, rectifier(rule)), x[None], seed + 2
    )[0]
    np.testing.assert_allclose(e.raw, ref, rtol=1e-4, atol=1e-6)
    assert not np.allclose(e.raw, saliency(model, x, target=seed + 2).raw)  # a real change


class FunctionalNet(nn.Module):
    """ReLU6 and ReLU called as functions (no activation modules to hook)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        h = F.max_pool2d(F.relu6(self.conv(x) * 4.0), 2)
        return self.fc(F.relu(h).flatten(1))


@requires_torch
@pytest.mark.parametrize("rule", ["guided", "deconv"])
def test_functional_relu_and_relu6_are_covered(rule):
    model = FunctionalNet()
    x = np.random.default_rng(5).random((3, 8, 8), dtype=np.float32)
    e = METHODS[rule](model, x, target=1)
    w = {k: torch.tensor(np.asarray(v)) for k, v in model.state_dict().items()}
    tf = torch.nn.functional

    def forward(z):
        h = tf.max_pool2d(
            rectifier(rule, 6.0)(tf.conv2d(z, w["conv.weight"], w["conv.bias"], padding=1) * 4.0), 2
        )
        return tf.linear(rectifier(rule)(h).flatten(1), w["fc.weight"], w["fc.bias"])

    ref = input_grad(forward, x[None], 1)[0]
    np.testing.assert_allclose(e.raw, ref, rtol=1e-4, atol=1e-6)


def test_overrides_end_with_the_call():
    model = models.create("lenet5")
    x = np.random.default_rng(0).random((1, 28, 28), dtype=np.float32)
    before = saliency(model, x, target=1).raw
    guided_backprop(model, x, target=1)
    np.testing.assert_array_equal(saliency(model, x, target=1).raw, before)

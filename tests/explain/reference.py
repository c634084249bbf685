"""PyTorch references for the explanation tests: LeNet-5 (ReLU, max pooling) on the weights of a
cnnlab model, with a pluggable rectifier so guided backprop and the deconvnet can be written
as custom autograd Functions."""

from __future__ import annotations

import numpy as np

from tests.helpers import torch


def lenet_weights(model) -> dict:
    return {k: torch.tensor(np.asarray(v)) for k, v in model.state_dict().items()}


def lenet_forward(w: dict, x, relu, taps: dict | None = None):
    """LeNet-5 ('modern', 28x28) in torch functional form; ``taps['conv2']`` receives the
    second conv's output."""
    F = torch.nn.functional
    h = F.max_pool2d(relu(F.conv2d(x, w["features.0.weight"], w["features.0.bias"], padding=2)), 2)
    c2 = F.conv2d(h, w["features.3.weight"], w["features.3.bias"])
    if taps is not None:
        c2.retain_grad()
        taps["conv2"] = c2
    h = F.max_pool2d(relu(c2), 2).flatten(1)
    h = relu(F.linear(h, w["classifier.0.weight"], w["classifier.0.bias"]))
    h = relu(F.linear(h, w["classifier.2.weight"], w["classifier.2.bias"]))
    return F.linear(h, w["classifier.4.weight"], w["classifier.4.bias"])


def rectifier(rule: str, top: float | None = None):
    """A torch ReLU (``top``: ReLU6) whose backward is ``'plain'``, ``'guided'`` or
    ``'deconv'``."""

    class Rect(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.clamp(min=0, max=top)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            inside = (x > 0) if top is None else (x > 0) & (x < top)
            if rule == "plain":
                return g * inside
            if rule == "guided":
                return g * inside * (g > 0)
            return g.clamp(min=0)

    return Rect.apply


def input_grad(forward, x: np.ndarray, target: int) -> np.ndarray:
    xt = torch.tensor(x, requires_grad=True)
    forward(xt)[0, target].backward()
    return xt.grad.numpy()

"""Copies that stay in the graph: ``clone`` and device moves (``Tensor.to('cuda')``)."""

from __future__ import annotations

from cnnlab import backend
from cnnlab.autograd import Function


class Clone(Function):
    saves_inputs = False

    @staticmethod
    def forward(x):
        return x.copy(), None

    # dL/dx = g
    @staticmethod
    def backward(ctx, g):
        return (g,)


class ToDevice(Function):
    saves_inputs = False

    @staticmethod
    def forward(x, *, device):
        return backend.to_device(x, device), backend.device_of(x)

    # dL/dx = g, moved back to the device x lives on
    @staticmethod
    def backward(ctx, g):
        return (backend.to_device(g, ctx),)

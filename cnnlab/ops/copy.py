"""Copies that stay in the graph: ``clone``, device moves (``Tensor.to('cuda')``) and memory
format changes (``Tensor.contiguous``)."""

from __future__ import annotations

from cnnlab import backend
from cnnlab.autograd import Function
from cnnlab.memory_format import as_format


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


class Contiguous(Function):
    """The same values laid out as ``memory_format`` (cnnlab.memory_format)."""

    saves_inputs = False

    @staticmethod
    def forward(x, *, memory_format):
        return as_format(x, memory_format), None

    # dL/dx = g (the values are x's; only their order in memory changed)
    @staticmethod
    def backward(ctx, g):
        return (g,)

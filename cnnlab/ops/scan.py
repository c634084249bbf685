"""Scans: the running sum along one dim (``torch.cumsum``)."""

from __future__ import annotations

from cnnlab.autograd import Function
from cnnlab.backend import get_array_module


class CumSum(Function):
    saves_inputs = False  # backward needs only the dim

    @staticmethod
    def forward(x, *, dim):
        if x.ndim == 0:
            return x.copy(), None
        dim = dim % x.ndim
        return get_array_module(x).cumsum(x, axis=dim), dim

    # dL/dx_k = sum_{j >= k} g_j: the running sum of g taken from the end
    @staticmethod
    def backward(ctx, g):
        if ctx is None:
            return (g,)
        xp = get_array_module(g)
        return (xp.flip(xp.cumsum(xp.flip(g, ctx), axis=ctx), ctx),)

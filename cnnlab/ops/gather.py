"""Gather along one dim (``torch.gather``): the op behind sort, topk and median values."""

from __future__ import annotations

from cnnlab.autograd import Function
from cnnlab.backend import get_array_module


class Gather(Function):
    """``out[i][j][k] = x[i][index[i][j][k]][k]`` for ``dim=1``; ``index`` is an integer
    array with ``x``'s number of dims (the non-``dim`` sizes at most ``x``'s)."""

    saves_inputs = False  # backward needs only the index and the shape

    @staticmethod
    def forward(x, *, index, dim):
        xp = get_array_module(x)
        dim = dim % x.ndim
        trimmed = x[
            tuple(slice(0, n) if d != dim else slice(None) for d, n in enumerate(index.shape))
        ]
        return xp.take_along_axis(trimmed, index, axis=dim), (x.shape, index, dim)

    # dL/dx = zeros with g added at index along dim (repeated indices accumulate)
    @staticmethod
    def backward(ctx, g):
        shape, index, dim = ctx
        xp = get_array_module(g)
        gx = xp.zeros(shape, dtype=g.dtype)
        where = list(xp.indices(index.shape, sparse=True))
        where[dim] = index
        xp.add.at(gx, tuple(where), g)
        return (gx,)

"""Writing into an index (``x[index] = v``, ``Tensor.__setitem__``) as a graph op."""

from __future__ import annotations

from cnnlab.autograd import Function


class IndexPut(Function):
    """``y = x`` with ``y[index] = v`` (``v`` broadcast to ``x[index]``'s shape)."""

    saves_inputs = False  # backward needs only the index

    @staticmethod
    def forward(x, v, *, index):
        y = x.copy()
        y[index] = v
        return y, index

    # dL/dx = g with the written places zeroed; dL/dv = g[index] (the engine sums it down
    # to v's shape where v was broadcast)
    @staticmethod
    def backward(ctx, g):
        gx = g.copy()
        gx[ctx] = 0
        return gx, g[ctx]

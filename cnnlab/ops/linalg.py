"""Matrix products."""

from __future__ import annotations

from cnnlab.autograd import Function


def _swap(a):
    return a.swapaxes(-1, -2)


class MatMul(Function):
    @staticmethod
    def forward(a, b):
        return a @ b, (a, b)

    # dL/da = g @ b^T, dL/db = a^T @ g  (1-D operands as row/column vectors; the engine
    # sums broadcast batch dims)
    @staticmethod
    def backward(ctx, g):
        a, b = ctx
        if a.ndim == 1 and b.ndim == 1:
            return g * b, g * a
        if a.ndim == 1:
            g2 = g[..., None, :]
            return (g2 @ _swap(b))[..., 0, :], a[:, None] @ g2
        if b.ndim == 1:
            g2 = g[..., None]
            return g2 @ b[None, :], (_swap(a) @ g2)[..., 0]
        return g @ _swap(b), _swap(a) @ g

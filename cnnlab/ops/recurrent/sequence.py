"""What the recurrent ops share: the input projection of a whole sequence in one GEMM, the
weight gradients in one GEMM each, the reverse direction and the split of the batch over
:mod:`cnnlab.threads`.

Every op here runs one layer in one direction over a whole sequence ``x`` of shape
``(T, B, I)``. Only the recurrent product ``h_{t-1} W_hh^T`` has to be done step by step;
everything that does not depend on the previous step (``x_t W_ih^T`` for all t, and in the
backward pass ``dA^T X``, ``dA^T H_prev`` and ``dA W_ih``) is one GEMM over ``T * B`` rows.
The steps of different sequences of the batch are independent, so each thread of the pool
runs the whole time loop on its own slice of the batch; the GEMMs over all steps split their
rows over the same pool (``threads.matmul_rows``), not oneDNN's threads, which would still
be spinning when the time loop starts (LSTM forward 6.6 -> 7.4 ms when they ran there).
"""

from __future__ import annotations

from cnnlab.backend import get_array_module
from cnnlab.threads import matmul_rows, parallel_for

__all__ = [
    "hidden_weight_grad",
    "input_grads",
    "over_batch",
    "project",
    "sigmoid_",
    "time_order",
    "zeros_or",
]


def time_order(a, reverse: bool):
    """``a`` with its first (time) axis reversed for the reverse direction (a view)."""
    return a[::-1] if reverse else a


def zeros_or(h, shape: tuple, like):
    """The given initial state, or zeros of ``shape`` in ``like``'s dtype."""
    xp = get_array_module(like)
    return xp.zeros(shape, like.dtype) if h is None else h


def project(x, w_ih, *biases):
    """``x_t W_ih^T + sum(biases)`` for every step at once: ``(T, B, I) -> (T, B, G)``."""
    t, b, i = x.shape
    out = matmul_rows(x.reshape(t * b, i), w_ih.T)
    for bias in biases:
        if bias is not None:
            out += bias
    return out.reshape(t, b, -1)


def input_grads(d_pre, x, w_ih):
    """From ``d_pre`` (T, B, G), the gradient of the pre-activations ``x W_ih^T + b``, all
    steps at once: ``(dL/dx, dL/dW_ih, dL/db)``."""
    t, b, g = d_pre.shape
    d2 = d_pre.reshape(t * b, g)
    gx = matmul_rows(d2, w_ih).reshape(x.shape)
    return gx, matmul_rows(d2.T, x.reshape(t * b, -1)), d2.sum(axis=0)


def hidden_weight_grad(d_rec, h_prev):
    """``dL/dW_hh = sum_t d_rec_t^T h_{t-1}`` in one GEMM: d_rec (T, B, G), h_prev (T, B, H)."""
    t, b, g = d_rec.shape
    return matmul_rows(d_rec.reshape(t * b, g).T, h_prev.reshape(t * b, -1))


def over_batch(batch: int, fn, work: int, arrays=()) -> None:
    """Run ``fn(start, stop)`` on slices of the batch, one per thread of the pool."""
    parallel_for(batch, fn, work=work, arrays=arrays)


def sigmoid_(a):
    """Logistic sigmoid in place, as ``0.5 + 0.5 tanh(a / 2)`` (no overflow, one ufunc)."""
    xp = get_array_module(a)
    a *= 0.5
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a

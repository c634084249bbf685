"""One Elman RNN layer (tanh or ReLU) in one direction over a whole sequence, with its
backward through time."""

from __future__ import annotations

from cnnlab.autograd import Function, Tensor
from cnnlab.backend import get_array_module
from cnnlab.ops.recurrent.check import check_layer_args
from cnnlab.ops.recurrent.sequence import (
    hidden_weight_grad,
    input_grads,
    over_batch,
    project,
    time_order,
    zeros_or,
)

__all__ = ["NONLINEARITIES", "RNNLayer", "rnn_layer"]

NONLINEARITIES = ("tanh", "relu")


class RNNLayer(Function):
    """Output ``(T, B, H)``: the hidden states h_1..h_T in input order."""

    @staticmethod
    def forward(x, w_ih, w_hh, b_ih, b_hh, h0, *, nonlinearity="tanh", reverse=False):
        xp = get_array_module(x)
        steps, batch, _ = x.shape
        n = w_hh.shape[1]
        xs = time_order(x, reverse)
        pre = project(xs, w_ih, b_ih, b_hh)
        hs = xp.empty((steps + 1, batch, n), x.dtype)
        hs[0] = zeros_or(h0, (batch, n), x)
        w_hh_t = w_hh.T

        def run(a, b):
            for t in range(steps):
                h = hs[t + 1, a:b]
                xp.dot(hs[t, a:b], w_hh_t, out=h)
                h += pre[t, a:b]
                if nonlinearity == "tanh":
                    xp.tanh(h, out=h)
                else:
                    xp.maximum(h, 0, out=h)

        over_batch(batch, run, work=steps * batch * n * (n + 4), arrays=(x,))
        given = (b_ih is not None, b_hh is not None, h0 is not None)
        return time_order(hs[1:], reverse), (xs, w_ih, w_hh, hs, nonlinearity, reverse, given)

    # Forward, per step:  h_t = act(a_t),  a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
    # Backward, t = T down to 1; dh_t = dL/dh_t (output) + dh_t from step t+1:
    #   da_t = dh_t (1 - h_t²) for tanh, dh_t [h_t > 0] for ReLU
    #   dh_{t-1} = da_t W_hh                              (the only GEMM per step)
    # Then for all steps at once: dL/dx = dA W_ih, dL/dW_ih = dA^T X,
    #   dL/dW_hh = dA^T H_prev, dL/db_ih = dL/db_hh = sum of dA, dL/dh0 = dh_0
    @staticmethod
    def backward(ctx, gy):
        xs, w_ih, w_hh, hs, nonlinearity, reverse, given = ctx
        xp = get_array_module(gy)
        steps, batch, n = gy.shape
        g_out = time_order(gy, reverse)
        d_pre = xp.empty((steps, batch, n), gy.dtype)
        dh0 = xp.empty((batch, n), gy.dtype)

        def run(a, b):
            dh = xp.zeros((b - a, n), gy.dtype)
            for t in range(steps - 1, -1, -1):
                dh += g_out[t, a:b]
                da, h = d_pre[t, a:b], hs[t + 1, a:b]
                if nonlinearity == "tanh":
                    xp.multiply(dh, 1 - h * h, out=da)
                else:
                    xp.multiply(dh, h > 0, out=da)
                xp.dot(da, w_hh, out=dh)
            dh0[a:b] = dh

        over_batch(batch, run, work=steps * batch * n * (n + 4), arrays=(gy,))
        gx, gw_ih, gb = input_grads(d_pre, xs, w_ih)
        gw_hh = hidden_weight_grad(d_pre, hs[:-1])
        has_bih, has_bhh, has_h0 = given
        return (
            time_order(gx, reverse),
            gw_ih,
            gw_hh,
            gb if has_bih else None,
            gb if has_bhh else None,
            dh0 if has_h0 else None,
        )


def rnn_layer(
    x: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
    h0: Tensor | None = None,
    nonlinearity: str = "tanh",
    reverse: bool = False,
) -> tuple:
    """One Elman RNN layer over a whole sequence (the fused op: one backward through time).

    Returns ``(output, h_n)``; ``reverse`` reads the sequence backwards (output stays in input
    order, so ``h_n`` is then ``output[0]``). The initial state defaults to zeros.

    Shape:
        - x: (T, B, I); w_ih: (H, I); w_hh: (H, H); b_ih, b_hh: (H,); h0: (B, H)
        - output: (T, B, H); h_n: (B, H)
    """
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"rnn_layer: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    check_layer_args("rnn_layer", 1, x, w_ih, w_hh, b_ih, b_hh, h0)
    y = RNNLayer.apply(x, w_ih, w_hh, b_ih, b_hh, h0, nonlinearity=nonlinearity, reverse=reverse)
    return y, y[0 if reverse else x.shape[0] - 1]

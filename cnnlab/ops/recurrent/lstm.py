"""One LSTM layer in one direction over a whole sequence, with its backward through time.

Inside the op the gates are kept in the order (i, f, o, g), not PyTorch's (i, f, g, o), and
the rows of the three sigmoid gates are pre-scaled by 1/2: then one ``tanh`` over all four
gates and ``0.5 + 0.5 t`` on the first three give every activation, since
``σ(a) = 0.5 + 0.5 tanh(a / 2)`` (three passes over the gates per step instead of nine).
The gradients are permuted back to PyTorch's order at the end.
"""

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

__all__ = ["LSTMLayer", "lstm_layer"]


def _layout(xp, n: int, dtype):
    """``(order, inverse, scale)``: internal row k is PyTorch's row ``order[k]``."""
    order = xp.concatenate([xp.arange(2 * n), xp.arange(3 * n, 4 * n), xp.arange(2 * n, 3 * n)])
    scale = xp.concatenate([xp.full(3 * n, 0.5, dtype), xp.ones(n, dtype)])
    return order, xp.argsort(order), scale


class LSTMLayer(Function):
    """Output ``(T + 1, B, H)``: the hidden states h_1..h_T in input order, then c_T."""

    @staticmethod
    def forward(x, w_ih, w_hh, b_ih, b_hh, h0, c0, *, reverse=False):
        xp = get_array_module(x)
        steps, batch, _ = x.shape
        n = w_hh.shape[1]
        order, inverse, scale = _layout(xp, n, x.dtype)
        w_ih, w_hh = w_ih[order], w_hh[order]  # internal order, unscaled (for backward)
        biases = [None if b is None else b[order] * scale for b in (b_ih, b_hh)]
        xs = time_order(x, reverse)
        gates = project(xs, w_ih * scale[:, None], *biases)  # then (in place) i, f, o, g
        hs = xp.empty((steps + 1, batch, n), x.dtype)
        cs = xp.empty_like(hs)
        tanh_c = xp.empty((steps, batch, n), x.dtype)
        hs[0] = zeros_or(h0, (batch, n), x)
        cs[0] = zeros_or(c0, (batch, n), x)
        w_hh_t = (w_hh * scale[:, None]).T

        def run(a, b):
            rec = xp.empty((b - a, 4 * n), x.dtype)
            ig = xp.empty((b - a, n), x.dtype)
            for t in range(steps):
                g = gates[t, a:b]
                xp.dot(hs[t, a:b], w_hh_t, out=rec)
                g += rec
                xp.tanh(g, out=g)
                sig = g[:, : 3 * n]
                sig *= 0.5
                sig += 0.5
                i, f, o, gg = g[:, :n], g[:, n : 2 * n], g[:, 2 * n : 3 * n], g[:, 3 * n :]
                c = cs[t + 1, a:b]
                xp.multiply(f, cs[t, a:b], out=c)
                xp.multiply(i, gg, out=ig)
                c += ig
                xp.tanh(c, out=tanh_c[t, a:b])
                xp.multiply(o, tanh_c[t, a:b], out=hs[t + 1, a:b])

        over_batch(batch, run, work=steps * batch * n * (4 * n + 16), arrays=(x,))
        out = xp.empty((steps + 1, batch, n), x.dtype)
        out[:steps] = time_order(hs[1:], reverse)
        out[steps] = cs[steps]
        given = (b_ih is not None, b_hh is not None, h0 is not None, c0 is not None)
        return out, (xs, w_ih, w_hh, inverse, hs, cs, tanh_c, gates, reverse, given)

    # Forward, per step (σ the logistic function; PyTorch's gate order i, f, g, o):
    #   a = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh = [a_i, a_f, a_g, a_o]
    #   i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o)
    #   c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)
    # Backward, t = T down to 1; dh_t = dL/dh_t (output) + dh_t from step t+1, dc_T = dL/dc_n:
    #   dc_t += dh_t o (1 - tanh²(c_t))
    #   [da_i, da_f, da_o] = [dc_t g, dc_t c_{t-1}, dh_t tanh(c_t)] * s (1 - s), s = [i, f, o]
    #   da_g = dc_t i (1 - g²),   dc_{t-1} = dc_t f,   dh_{t-1} = da W_hh   (one GEMM per step)
    # Then for all steps at once (dA stacks the da's, X the inputs, H_prev the h_{t-1}'s):
    #   dL/dx = dA W_ih,  dL/dW_ih = dA^T X,  dL/dW_hh = dA^T H_prev,
    #   dL/db_ih = dL/db_hh = sum of dA,  dL/dh0 = dh_0,  dL/dc0 = dc_0
    # (the reverse direction runs the same on the time-reversed sequence).
    @staticmethod
    def backward(ctx, gy):
        xs, w_ih, w_hh, inverse, hs, cs, tanh_c, gates, reverse, given = ctx
        xp = get_array_module(gy)
        steps, batch, n = tanh_c.shape
        g_out = time_order(gy[:steps], reverse)
        d_pre = xp.empty_like(gates)
        dh0 = xp.empty((batch, n), gy.dtype)
        dc0 = xp.empty_like(dh0)

        def run(a, b):
            dh = xp.zeros((b - a, n), gy.dtype)
            dc = gy[steps, a:b].copy()
            ds = xp.empty((b - a, 3 * n), gy.dtype)
            tmp = xp.empty((b - a, n), gy.dtype)
            for t in range(steps - 1, -1, -1):
                dh += g_out[t, a:b]
                g, da, tc = gates[t, a:b], d_pre[t, a:b], tanh_c[t, a:b]
                i, f, o, gg = g[:, :n], g[:, n : 2 * n], g[:, 2 * n : 3 * n], g[:, 3 * n :]
                xp.multiply(tc, tc, out=tmp)  # dc += dh o (1 - tanh²c)
                xp.subtract(1, tmp, out=tmp)
                tmp *= o
                tmp *= dh
                dc += tmp
                xp.subtract(1, g[:, : 3 * n], out=ds)  # σ' = s (1 - s) for i, f, o at once
                ds *= g[:, : 3 * n]
                xp.multiply(dc, gg, out=da[:, :n])
                xp.multiply(dc, cs[t, a:b], out=da[:, n : 2 * n])
                xp.multiply(dh, tc, out=da[:, 2 * n : 3 * n])
                da[:, : 3 * n] *= ds
                xp.multiply(gg, gg, out=tmp)  # da_g = dc i (1 - g²)
                xp.subtract(1, tmp, out=tmp)
                tmp *= i
                xp.multiply(dc, tmp, out=da[:, 3 * n :])
                dc *= f
                xp.dot(da, w_hh, out=dh)
            dh0[a:b] = dh
            dc0[a:b] = dc

        over_batch(batch, run, work=steps * batch * n * (4 * n + 16), arrays=(gy,))
        gx, gw_ih, gb = input_grads(d_pre, xs, w_ih)
        gw_hh = hidden_weight_grad(d_pre, hs[:-1])
        gw_ih, gw_hh, gb = gw_ih[inverse], gw_hh[inverse], gb[inverse]  # PyTorch's order
        has_bih, has_bhh, has_h0, has_c0 = given
        return (
            time_order(gx, reverse),
            gw_ih,
            gw_hh,
            gb if has_bih else None,
            gb if has_bhh else None,
            dh0 if has_h0 else None,
            dc0 if has_c0 else None,
        )


def lstm_layer(
    x: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
    h0: Tensor | None = None,
    c0: Tensor | None = None,
    reverse: bool = False,
) -> tuple:
    """One LSTM layer over a whole sequence (the fused op: one backward through time).

    Returns ``(output, h_n, c_n)``. With ``reverse`` the sequence is read from its last step
    to its first (the backward half of a bidirectional layer); ``output`` stays in input
    order, so ``h_n`` is then ``output[0]``. Initial states default to zeros.

    Shape:
        - x: (T, B, I); w_ih: (4H, I); w_hh: (4H, H); b_ih, b_hh: (4H,); h0, c0: (B, H)
        - output: (T, B, H); h_n, c_n: (B, H)
    """
    check_layer_args("lstm_layer", 4, x, w_ih, w_hh, b_ih, b_hh, h0, c0)
    y = LSTMLayer.apply(x, w_ih, w_hh, b_ih, b_hh, h0, c0, reverse=reverse)
    steps = x.shape[0]
    return y[:steps], y[0 if reverse else steps - 1], y[steps]

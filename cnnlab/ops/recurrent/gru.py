"""One GRU layer in one direction over a whole sequence, with its backward through time."""

from __future__ import annotations

from cnnlab.autograd import Function, Tensor
from cnnlab.backend import get_array_module
from cnnlab.ops.recurrent.check import check_layer_args
from cnnlab.ops.recurrent.sequence import (
    hidden_weight_grad,
    input_grads,
    over_batch,
    project,
    sigmoid_,
    time_order,
    zeros_or,
)

__all__ = ["GRULayer", "gru_layer"]


class GRULayer(Function):
    """Output ``(T, B, H)``: the hidden states h_1..h_T in input order."""

    @staticmethod
    def forward(x, w_ih, w_hh, b_ih, b_hh, h0, *, reverse=False):
        xp = get_array_module(x)
        steps, batch, _ = x.shape
        n = w_hh.shape[1]
        xs = time_order(x, reverse)
        gates = project(xs, w_ih, b_ih)  # input parts, then (in place) r, z, n
        hn = xp.empty((steps, batch, n), x.dtype)  # h_{t-1} W_hn^T + b_hn
        hs = xp.empty((steps + 1, batch, n), x.dtype)
        hs[0] = zeros_or(h0, (batch, n), x)
        w_hh_t = w_hh.T

        def run(a, b):
            rec = xp.empty((b - a, 3 * n), x.dtype)
            for t in range(steps):
                g, h_prev = gates[t, a:b], hs[t, a:b]
                xp.dot(h_prev, w_hh_t, out=rec)
                if b_hh is not None:
                    rec += b_hh
                g[:, : 2 * n] += rec[:, : 2 * n]
                sigmoid_(g[:, : 2 * n])
                r, z, nn = g[:, :n], g[:, n : 2 * n], g[:, 2 * n :]
                hn[t, a:b] = rec[:, 2 * n :]
                nn += r * rec[:, 2 * n :]
                xp.tanh(nn, out=nn)
                h = hs[t + 1, a:b]
                xp.subtract(h_prev, nn, out=h)
                h *= z
                h += nn

        over_batch(batch, run, work=steps * batch * n * (3 * n + 16), arrays=(x,))
        given = (b_ih is not None, b_hh is not None, h0 is not None)
        return time_order(hs[1:], reverse), (xs, w_ih, w_hh, hs, gates, hn, reverse, given)

    # Forward, per step (σ the logistic function; gates in PyTorch's order r, z, n):
    #   [x_r, x_z, x_n] = x_t W_ih^T + b_ih,   [h_r, h_z, h_n] = h_{t-1} W_hh^T + b_hh
    #   r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r * h_n)
    #   h_t = (1 - z) * n + z * h_{t-1}
    # Backward, t = T down to 1; dh_t = dL/dh_t (output) + dh_t from step t+1:
    #   da_n = dh_t (1 - z) (1 - n²),   da_z = dh_t (h_{t-1} - n) z (1 - z)
    #   da_r = da_n h_n r (1 - r),      dh_n = da_n r
    #   dh_{t-1} = dh_t z + [da_r, da_z, dh_n] W_hh        (the only GEMM per step)
    # Then for all steps at once, with D_x = [da_r, da_z, da_n], D_h = [da_r, da_z, dh_n]:
    #   dL/dx = D_x W_ih,  dL/dW_ih = D_x^T X,  dL/db_ih = sum D_x,
    #   dL/dW_hh = D_h^T H_prev,  dL/db_hh = sum D_h,  dL/dh0 = dh_0
    @staticmethod
    def backward(ctx, gy):
        xs, w_ih, w_hh, hs, gates, hn, reverse, given = ctx
        xp = get_array_module(gy)
        steps, batch, n = hn.shape
        g_out = time_order(gy, reverse)
        d_x = xp.empty_like(gates)
        d_h = xp.empty_like(gates)
        dh0 = xp.empty((batch, n), gy.dtype)

        def run(a, b):
            dh = xp.zeros((b - a, n), gy.dtype)
            rec = xp.empty_like(dh)
            for t in range(steps - 1, -1, -1):
                dh += g_out[t, a:b]
                g, dx, dr = gates[t, a:b], d_x[t, a:b], d_h[t, a:b]
                r, z, nn = g[:, :n], g[:, n : 2 * n], g[:, 2 * n :]
                da_n = dx[:, 2 * n :]
                xp.multiply(dh, 1 - z, out=da_n)
                da_n *= 1 - nn * nn
                xp.subtract(hs[t, a:b], nn, out=dr[:, n : 2 * n])
                dr[:, n : 2 * n] *= dh * z * (1 - z)
                xp.multiply(da_n, r, out=dr[:, 2 * n :])
                xp.multiply(da_n, hn[t, a:b], out=dr[:, :n])
                dr[:, :n] *= r * (1 - r)
                xp.dot(dr, w_hh, out=rec)
                dh *= z
                dh += rec
            dh0[a:b] = dh

        over_batch(batch, run, work=steps * batch * n * (3 * n + 16), arrays=(gy,))
        d_x[..., : 2 * n] = d_h[..., : 2 * n]
        gx, gw_ih, gb_ih = input_grads(d_x, xs, w_ih)
        gw_hh = hidden_weight_grad(d_h, hs[:-1])
        has_bih, has_bhh, has_h0 = given
        return (
            time_order(gx, reverse),
            gw_ih,
            gw_hh,
            gb_ih if has_bih else None,
            d_h.reshape(-1, 3 * n).sum(axis=0) if has_bhh else None,
            dh0 if has_h0 else None,
        )


def gru_layer(
    x: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
    h0: Tensor | None = None,
    reverse: bool = False,
) -> tuple:
    """One GRU layer over a whole sequence (the fused op: one backward through time).

    Returns ``(output, h_n)``; ``reverse`` reads the sequence backwards (output stays in input
    order, so ``h_n`` is then ``output[0]``). The initial state defaults to zeros.

    Shape:
        - x: (T, B, I); w_ih: (3H, I); w_hh: (3H, H); b_ih, b_hh: (3H,); h0: (B, H)
        - output: (T, B, H); h_n: (B, H)
    """
    check_layer_args("gru_layer", 3, x, w_ih, w_hh, b_ih, b_hh, h0)
    y = GRULayer.apply(x, w_ih, w_hh, b_ih, b_hh, h0, reverse=reverse)
    return y, y[0 if reverse else x.shape[0] - 1]

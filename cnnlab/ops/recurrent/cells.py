"""The recurrent cells written with the small autograd ops (linear, sigmoid, tanh, slicing):
no backward of their own. They are the readable definition and the cross-check of the fused
whole-sequence ops, which must give the same values and gradients (tests/ops)."""

from __future__ import annotations

from cnnlab.autograd import Tensor
from cnnlab.ops.activation import relu, sigmoid, tanh
from cnnlab.ops.misc import linear

__all__ = ["gru_cell", "lstm_cell", "rnn_cell"]


def _chunks(t: Tensor, k: int) -> list:
    n = t.shape[-1] // k
    return [t[..., j * n : (j + 1) * n] for j in range(k)]


def rnn_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
    nonlinearity: str = "tanh",
) -> Tensor:
    """``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``, act tanh or relu.

    Shape: input (B, I) or (I,); hx (B, H) or (H,); output like hx.
    """
    a = linear(input, w_ih, b_ih) + linear(hx, w_hh, b_hh)
    if nonlinearity == "tanh":
        return tanh(a)
    if nonlinearity == "relu":
        return relu(a)
    raise ValueError(f"rnn_cell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")


def lstm_cell(
    input: Tensor,
    hx: tuple,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> tuple:
    """One LSTM step, gates in PyTorch's order (input, forget, cell, output):
    ``c' = σ(f) c + σ(i) tanh(g)``, ``h' = σ(o) tanh(c')``. Returns ``(h', c')``.

    Shape: input (B, I) or (I,); hx = (h, c), each (B, H) or (H,); outputs like h.
    """
    h, c = hx
    i, f, g, o = _chunks(linear(input, w_ih, b_ih) + linear(h, w_hh, b_hh), 4)
    c2 = sigmoid(f) * c + sigmoid(i) * tanh(g)
    return sigmoid(o) * tanh(c2), c2


def gru_cell(
    input: Tensor,
    hx: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> Tensor:
    """One GRU step, gates in PyTorch's order (reset, update, new):
    ``n = tanh(x_n + r h_n)``, ``h' = (1 - z) n + z h``, with ``b_hn`` inside ``r h_n``.

    Shape: input (B, I) or (I,); hx (B, H) or (H,); output like hx.
    """
    x_r, x_z, x_n = _chunks(linear(input, w_ih, b_ih), 3)
    h_r, h_z, h_n = _chunks(linear(hx, w_hh, b_hh), 3)
    r = sigmoid(x_r + h_r)
    z = sigmoid(x_z + h_z)
    n = tanh(x_n + r * h_n)
    return (1 - z) * n + z * hx

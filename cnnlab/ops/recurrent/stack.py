"""Multi-layer and bidirectional recurrent networks, composed from the fused one-layer ops.

Layer ``l`` reads the outputs of layer ``l - 1`` (both directions concatenated along the
features), with dropout on them in training mode, as PyTorch's ``nn.LSTM`` does. This file has
no backward of its own: each layer direction is one op, and the slicing, concatenation and
dropout between them are the engine's.
"""

from __future__ import annotations

from cnnlab.autograd import Tensor
from cnnlab.ops.misc import dropout as _dropout
from cnnlab.ops.recurrent.gru import gru_layer
from cnnlab.ops.recurrent.lstm import lstm_layer
from cnnlab.ops.recurrent.rnn import rnn_layer
from cnnlab.ops.shape import cat, stack

__all__ = ["gru", "lstm", "recurrent", "rnn"]

MODES = ("RNN_TANH", "RNN_RELU", "LSTM", "GRU")


def _run_direction(mode: str, x, weights, h0, c0, reverse: bool) -> tuple:
    if mode == "LSTM":
        return lstm_layer(x, *weights, h0, c0, reverse=reverse)
    if mode == "GRU":
        return (*gru_layer(x, *weights, h0, reverse=reverse), None)
    act = "tanh" if mode == "RNN_TANH" else "relu"
    return (*rnn_layer(x, *weights, h0, nonlinearity=act, reverse=reverse), None)


def recurrent(
    mode: str,
    input: Tensor,
    hx,
    weights: list,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    training: bool = False,
    batch_first: bool = False,
) -> tuple:
    """Run ``num_layers`` layers of ``mode`` ('RNN_TANH', 'RNN_RELU', 'LSTM', 'GRU').

    ``weights[l * D + d]`` is ``(w_ih, w_hh, b_ih, b_hh)`` of layer ``l``, direction ``d``
    (D = 2 if bidirectional, biases may be None). ``hx``: None, ``h0`` or for LSTM
    ``(h0, c0)``. Returns ``(output, h_n)``, for LSTM ``(output, (h_n, c_n))``.

    Shape:
        - input: (T, B, I), or (B, T, I) with ``batch_first``; h0, c0: (num_layers * D, B, H)
        - output: (T, B, D * H) (or batch first); h_n, c_n: (num_layers * D, B, H)
    """
    if mode not in MODES:
        raise ValueError(f"recurrent: mode must be one of {', '.join(MODES)}, got {mode!r}")
    dirs = 2 if bidirectional else 1
    h0, c0 = hx if mode == "LSTM" and hx is not None else (hx, None)
    x = input.transpose(0, 1) if batch_first else input
    h_n, c_n = [], []
    for layer in range(num_layers):
        if layer > 0 and dropout > 0 and training:
            x = _dropout(x, dropout, training=True)
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            out, h, c = _run_direction(
                mode,
                x,
                weights[k],
                None if h0 is None else h0[k],
                None if c0 is None else c0[k],
                reverse=d == 1,
            )
            outs.append(out)
            h_n.append(h)
            c_n.append(c)
        x = outs[0] if dirs == 1 else cat(outs, dim=2)
    output = x.transpose(0, 1) if batch_first else x
    h_n = stack(h_n, dim=0)
    if mode == "LSTM":
        return output, (h_n, stack(c_n, dim=0))
    return output, h_n


def rnn(input, hx, weights, nonlinearity: str = "tanh", **options) -> tuple:
    """Elman RNN (see :func:`recurrent`); returns ``(output, h_n)``."""
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"rnn: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return recurrent(f"RNN_{nonlinearity.upper()}", input, hx, weights, **options)


def lstm(input, hx, weights, **options) -> tuple:
    """LSTM (see :func:`recurrent`); returns ``(output, (h_n, c_n))``."""
    return recurrent("LSTM", input, hx, weights, **options)


def gru(input, hx, weights, **options) -> tuple:
    """GRU (see :func:`recurrent`); returns ``(output, h_n)``."""
    return recurrent("GRU", input, hx, weights, **options)

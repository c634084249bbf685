"""Recurrent ops: RNN (tanh, ReLU), LSTM and GRU.

- ``rnn_layer``, ``lstm_layer``, ``gru_layer`` (``rnn.py``, ``lstm.py``, ``gru.py``): one layer in
  one direction over a whole sequence, one op each with a hand-written backward through time.
  The input projection ``x_t W_ih^T`` of every step is one GEMM (``sequence.py``); only the
  recurrent product ``h_{t-1} W_hh^T`` runs step by step.
- ``rnn``, ``lstm``, ``gru`` (``stack.py``): several layers, both directions, dropout between
  layers, ``batch_first``: PyTorch's ``nn.RNN``/``nn.LSTM``/``nn.GRU`` as functions.
- ``rnn_cell``, ``lstm_cell``, ``gru_cell`` (``cells.py``): one step written with the small
  autograd ops, no backward of their own: the readable definition and the cross-check.

Backpropagation through time multiplies the gradient by ``W_hh^T`` (and the gates'
derivatives) once per step, so over long sequences it can grow without bound (exploding
gradients) or vanish. Clipping the global gradient norm (:func:`cnnlab.optim.clip_grad_norm_`,
``Trainer(grad_clip=...)``) before each optimiser step bounds the update when a product
explodes; the LSTM's and GRU's additive state updates are what keep it from vanishing.
"""

from cnnlab.ops.recurrent.cells import gru_cell, lstm_cell, rnn_cell
from cnnlab.ops.recurrent.gru import GRULayer, gru_layer
from cnnlab.ops.recurrent.lstm import LSTMLayer, lstm_layer
from cnnlab.ops.recurrent.rnn import RNNLayer, rnn_layer
from cnnlab.ops.recurrent.stack import gru, lstm, recurrent, rnn

__all__ = [
    "GRULayer",
    "LSTMLayer",
    "RNNLayer",
    "gru",
    "gru_cell",
    "gru_layer",
    "lstm",
    "lstm_cell",
    "lstm_layer",
    "recurrent",
    "rnn",
    "rnn_cell",
    "rnn_layer",
]

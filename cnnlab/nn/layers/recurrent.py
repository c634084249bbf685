"""Recurrent layers: ``RNN`` (tanh or ReLU), ``LSTM``, ``GRU`` and their one-step cells.

PyTorch's semantics and names, so state_dicts load key for key: input ``(T, N, I)`` (or
``(N, T, I)`` with ``batch_first``, or ``(T, I)`` unbatched), ``num_layers``,
``bidirectional``, ``dropout`` on the outputs of every layer but the last in training mode,
parameters ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` (and
``..._reverse`` for the backward direction), initialised U(-1/sqrt(H), 1/sqrt(H)) like
PyTorch's. Each layer direction is one fused op with a hand-written backward through time
(:mod:`cnnlab.ops.recurrent`). Train them with gradient clipping
(:func:`cnnlab.optim.clip_grad_norm_`): backpropagation through time multiplies by ``W_hh``
once per step, and an exploding product would otherwise throw the weights far away in one
step.
"""

from __future__ import annotations

import math

import numpy as np

import cnnlab.nn.functional as F
from cnnlab import backend
from cnnlab.nn import init
from cnnlab.nn.layers._validate import check_input
from cnnlab.nn.module import Module
from cnnlab.nn.parameter import Parameter
from cnnlab.ops.recurrent.rnn import NONLINEARITIES

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNBase", "RNNCell", "RNNCellBase"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _shape(t) -> tuple:
    return tuple(getattr(t, "shape", ()))


class RNNBase(Module):
    """The shared body of ``RNN``, ``LSTM`` and ``GRU`` (``mode`` picks the cell)."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype=None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if input_size < 1 or hidden_size < 1 or num_layers < 1:
            raise ValueError(
                f"{name}: input_size, hidden_size and num_layers must be positive, got "
                f"{input_size}, {hidden_size}, {num_layers}"
            )
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout}")
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        dtype = np.dtype(dtype) if dtype is not None else backend.get_default_dtype()
        gate = _GATES[mode] * hidden_size
        dirs = 2 if bidirectional else 1
        for layer in range(num_layers):
            fan_in = input_size if layer == 0 else hidden_size * dirs
            for d in range(dirs):
                s = f"_l{layer}" + ("_reverse" if d else "")
                setattr(self, "weight_ih" + s, Parameter(np.empty((gate, fan_in), dtype)))
                setattr(self, "weight_hh" + s, Parameter(np.empty((gate, hidden_size), dtype)))
                if bias:
                    setattr(self, "bias_ih" + s, Parameter(np.empty(gate, dtype)))
                    setattr(self, "bias_hh" + s, Parameter(np.empty(gate, dtype)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -k, k)

    def flatten_parameters(self) -> None:
        """Accepted for PyTorch compatibility (cuDNN's packed weights); nothing to do here."""

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    def _weights(self) -> list:
        dirs = 2 if self.bidirectional else 1
        out = []
        for layer in range(self.num_layers):
            for d in range(dirs):
                s = f"_l{layer}" + ("_reverse" if d else "")
                out.append(
                    tuple(
                        getattr(self, n + s, None)
                        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                    )
                )
        return out

    def macs_per_step(self) -> int:
        """Multiply-adds of one time step of one sequence (all layers and directions)."""
        dirs = 2 if self.bidirectional else 1
        gate = _GATES[self.mode] * self.hidden_size
        total = 0
        for layer in range(self.num_layers):
            fan_in = self.input_size if layer == 0 else self.hidden_size * dirs
            total += dirs * gate * (fan_in + self.hidden_size)
        return total

    def _check_state(self, h, batched: bool, batch: int, what: str) -> None:
        n = self.num_layers * (2 if self.bidirectional else 1)
        want = (n, batch, self.hidden_size) if batched else (n, self.hidden_size)
        if _shape(h) != want:
            raise ValueError(
                f"{self._describe()}: expected {what} of shape {want}, got {_shape(h)}"
            )

    def forward(self, input, hx=None):
        t, n = ("N", "T") if self.batch_first else ("T", "N")
        check_input(
            self, input, (2, 3), f"({t}, {n}, {self.input_size}) or (T, {self.input_size})",
            -1, self.input_size,
        )  # fmt: skip
        batched = input.ndim == 3
        if batched:
            batch = input.shape[0 if self.batch_first else 1]
        else:
            batch, input = 1, input.unsqueeze(1)
        states = None
        if hx is not None:
            if self.mode == "LSTM":
                if not (isinstance(hx, (tuple, list)) and len(hx) == 2):
                    raise ValueError(f"{self._describe()}: expected hx = (h_0, c_0), got {hx!r}")
                self._check_state(hx[0], batched, batch, "h_0")
                self._check_state(hx[1], batched, batch, "c_0")
                states = tuple(h if batched else h.unsqueeze(1) for h in hx)
            else:
                self._check_state(hx, batched, batch, "h_0")
                states = hx if batched else hx.unsqueeze(1)
        output, h_n = F.recurrent(
            self.mode,
            input,
            states,
            self._weights(),
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
            training=self.training,
            batch_first=self.batch_first and batched,
        )
        if not batched:
            output = output.squeeze(1)
            h_n = tuple(h.squeeze(1) for h in h_n) if self.mode == "LSTM" else h_n.squeeze(1)
        return output, h_n


class RNN(RNNBase):
    """Elman RNN: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``, act tanh or relu.

    Returns ``(output, h_n)``.

    Shape:
        - input: (T, N, input_size), (N, T, input_size) with batch_first, or (T, input_size)
        - h_0, h_n: (num_layers * D, N, hidden_size), D = 2 if bidirectional else 1
        - output: (T, N, D * hidden_size) (batch first with batch_first)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype=None,
    ) -> None:
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(
            f"RNN_{nonlinearity.upper()}",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            dtype,
        )

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + ", nonlinearity='relu'"


class LSTM(RNNBase):
    """Long short-term memory (Hochreiter and Schmidhuber 1997; gates i, f, g, o).

    Returns ``(output, (h_n, c_n))``; ``hx`` is ``(h_0, c_0)`` or None (zeros).

    Shape:
        - input: (T, N, input_size), (N, T, input_size) with batch_first, or (T, input_size)
        - h_0, c_0, h_n, c_n: (num_layers * D, N, hidden_size), D = 2 if bidirectional else 1
        - output: (T, N, D * hidden_size) (batch first with batch_first)
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit (Cho et al. 2014; gates r, z, n as in PyTorch).

    Returns ``(output, h_n)``.

    Shape:
        - input: (T, N, input_size), (N, T, input_size) with batch_first, or (T, input_size)
        - h_0, h_n: (num_layers * D, N, hidden_size), D = 2 if bidirectional else 1
        - output: (T, N, D * hidden_size) (batch first with batch_first)
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("GRU", *args, **kwargs)


class RNNCellBase(Module):
    """One step of a recurrent layer; parameters ``weight_ih``, ``weight_hh``, ``bias_ih``,
    ``bias_hh`` as in PyTorch. The step runs the fused op on a sequence of length 1."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype=None) -> None:
        super().__init__()
        if input_size < 1 or hidden_size < 1:
            raise ValueError(
                f"{type(self).__name__}: input_size and hidden_size must be positive, got "
                f"{input_size}, {hidden_size}"
            )
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        dtype = np.dtype(dtype) if dtype is not None else backend.get_default_dtype()
        g = self.gates * hidden_size
        self.weight_ih = Parameter(np.empty((g, input_size), dtype))
        self.weight_hh = Parameter(np.empty((g, hidden_size), dtype))
        self.bias_ih = Parameter(np.empty(g, dtype)) if bias else None
        self.bias_hh = Parameter(np.empty(g, dtype)) if bias else None
        self.reset_parameters()

    reset_parameters = RNNBase.reset_parameters

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    def macs_per_step(self) -> int:
        return self.gates * self.hidden_size * (self.input_size + self.hidden_size)

    def _prepare(self, input, hx: tuple) -> tuple:
        """``(x as (1, N, I), states as (N, H) or None, batched)`` after the shape checks."""
        check_input(
            self, input, (1, 2), f"(N, {self.input_size}) or ({self.input_size},)",
            -1, self.input_size,
        )  # fmt: skip
        batched = input.ndim == 2
        want = (input.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        states = []
        for h in hx:
            if h is not None and _shape(h) != want:
                raise ValueError(
                    f"{self._describe()}: expected a hidden state of shape {want}, got {_shape(h)}"
                )
            states.append(h if h is None or batched else h.unsqueeze(0))
        x = input.unsqueeze(0) if batched else input.reshape(1, 1, -1)
        return x, states, batched

    def _weights(self) -> tuple:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh


def _unbatch(t, batched: bool):
    return t if batched else t.squeeze(0)


class RNNCell(RNNCellBase):
    """``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``, act tanh or relu.

    Shape: input (N, input_size) or (input_size,); hx, output (N, hidden_size) or (hidden_size,).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        dtype=None,
    ) -> None:
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(
                f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, dtype)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + ", nonlinearity='relu'"

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, (hx,))
        _, h = F.rnn_layer(x, *self._weights(), h, nonlinearity=self.nonlinearity)
        return _unbatch(h, batched)


class LSTMCell(RNNCellBase):
    """One LSTM step; returns ``(h', c')``; ``hx`` is ``(h, c)`` or None (zeros).

    Shape: input (N, input_size) or (input_size,); h, c (N, hidden_size) or (hidden_size,).
    """

    gates = 4

    def forward(self, input, hx=None):
        if hx is not None and not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise ValueError(f"{self._describe()}: expected hx = (h, c), got {hx!r}")
        x, (h, c), batched = self._prepare(input, hx if hx is not None else (None, None))
        _, h, c = F.lstm_layer(x, *self._weights(), h, c)
        return _unbatch(h, batched), _unbatch(c, batched)


class GRUCell(RNNCellBase):
    """One GRU step.

    Shape: input (N, input_size) or (input_size,); hx, output (N, hidden_size) or (hidden_size,).
    """

    gates = 3

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, (hx,))
        _, h = F.gru_layer(x, *self._weights(), h)
        return _unbatch(h, batched)

"""Recurrent classifiers of images: read an image row by row as a sequence.

``lstm_rows`` and ``gru_rows`` are the classic sequential-MNIST task: a 28x28 digit is 28
steps of 28 pixels (``C * W`` features per step for C channels), and the last hidden state
(of both directions when bidirectional) goes to a linear classifier. ``conv_lstm`` first
runs two conv-BN-ReLU-pool stages (28x28 -> 7x7 maps of 64 channels) and then an LSTM over
the 7 rows of 64 x 7 features: convolutions find strokes, the LSTM reads them top to bottom.

Recurrent weights start from PyTorch's U(-1/sqrt(H), 1/sqrt(H)); the classifier too. Train
them with Adam and gradient clipping (``cnnlab train`` does for these names: see
``cnnlab.train.recipes.MODEL_DEFAULTS``).
"""

from __future__ import annotations

from cnnlab import nn
from cnnlab.models.he_init import he_initialised
from cnnlab.models.registry import register
from cnnlab.nn import init

__all__ = ["ConvLSTM", "RowRNN", "conv_lstm", "gru_rows", "lstm_rows"]


def _torch_linear(in_features: int, out_features: int) -> nn.Linear:
    fc = nn.Linear(in_features, out_features)
    init.kaiming_uniform_(fc.weight, a=5**0.5)  # PyTorch's default: U(+-1/sqrt(fan_in))
    bound = 1 / in_features**0.5
    init.uniform_(fc.bias, -bound, bound)
    return fc


def _rows(x):
    """``(N, C, H, W) -> (N, H, C * W)``: one step per image row."""
    n, c, h, w = x.shape
    return x.permute(0, 2, 1, 3).reshape(n, h, c * w)


def _last_state(h_n, bidirectional: bool):
    """The top layer's final hidden state, both directions side by side: (N, D * H)."""
    if not bidirectional:
        return h_n[-1]
    return h_n[-2:].permute(1, 0, 2).reshape(h_n.shape[1], -1)


class RowRNN(nn.Module):
    """An LSTM, GRU or RNN reading the image's rows; its last hidden state is classified.

    Shape:
        - input: (N, in_channels, H, input_size); output: (N, num_classes)
    """

    @he_initialised  # cnnlab's choice for its zoo; the layers default to PyTorch's
    def __init__(
        self,
        cell: str = "lstm",
        num_classes: int = 10,
        in_channels: int = 1,
        input_size: int = 28,
        hidden_size: int = 128,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        layers = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
        if cell not in layers:
            raise ValueError(f"RowRNN: cell must be 'lstm', 'gru' or 'rnn', got {cell!r}")
        self.cell, self.bidirectional = cell, bidirectional
        self.rnn = layers[cell](
            in_channels * input_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout,
            bidirectional=bidirectional,
        )
        self.fc = _torch_linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def forward(self, x):
        _, state = self.rnn(_rows(x))
        h_n = state[0] if self.cell == "lstm" else state
        return self.fc(_last_state(h_n, self.bidirectional))


class ConvLSTM(nn.Module):
    """Two conv 3x3-BN-ReLU-maxpool stages, then an LSTM over the rows of the feature maps.

    Shape:
        - input: (N, in_channels, input_size, input_size); output: (N, num_classes)
    """

    @he_initialised  # cnnlab's choice for its zoo; the layers default to PyTorch's
    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        input_size: int = 28,
        widths: tuple = (32, 64),
        hidden_size: int = 128,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        layers, c, side = [], in_channels, input_size
        for w in widths:
            layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
            layers.append(nn.MaxPool2d(2))
            c, side = w, side // 2
        if side < 1:
            raise ValueError(
                f"ConvLSTM: input_size {input_size} is too small for {len(widths)} pools"
            )
        self.bidirectional = bidirectional
        self.features = nn.Sequential(*layers)
        self.lstm = nn.LSTM(c * side, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.fc = _torch_linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def forward(self, x):
        _, (h_n, _) = self.lstm(_rows(self.features(x)))
        return self.fc(_last_state(h_n, self.bidirectional))


@register("lstm_rows", input_shape=(1, 28, 28), num_classes=10)
def lstm_rows(
    num_classes: int = 10, in_channels: int = 1, input_size: int = 28, **options
) -> RowRNN:
    """LSTM (128 units) reading an image row by row: sequential MNIST."""
    return RowRNN("lstm", num_classes, in_channels, input_size, **options)


@register("gru_rows", input_shape=(1, 28, 28), num_classes=10)
def gru_rows(
    num_classes: int = 10, in_channels: int = 1, input_size: int = 28, **options
) -> RowRNN:
    """GRU (128 units) reading an image row by row: sequential MNIST."""
    return RowRNN("gru", num_classes, in_channels, input_size, **options)


@register("conv_lstm", input_shape=(1, 28, 28), num_classes=10)
def conv_lstm(
    num_classes: int = 10, in_channels: int = 1, input_size: int = 28, **options
) -> ConvLSTM:
    """Two conv stages, then an LSTM over the rows of the 7x7 feature maps."""
    return ConvLSTM(num_classes, in_channels, input_size, **options)

"""Layers by family; each stores its configuration and parameters and calls ``F.<op>``."""

from cnnlab.nn.layers.activation import (
    ELU,
    GELU,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from cnnlab.nn.layers.attention import AdditiveAttention
from cnnlab.nn.layers.conv import Conv1d, Conv2d, ConvTranspose2d
from cnnlab.nn.layers.dropout import Dropout, Dropout2d
from cnnlab.nn.layers.linear import Linear
from cnnlab.nn.layers.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    DiceLoss,
    MSELoss,
    NLLLoss,
)
from cnnlab.nn.layers.misc import Flatten, Identity, Upsample
from cnnlab.nn.layers.norm import BatchNorm1d, BatchNorm2d
from cnnlab.nn.layers.normalization import (
    InstanceNorm1d,
    InstanceNorm2d,
    LayerNorm,
    LocalResponseNorm,
)
from cnnlab.nn.layers.pooling import (
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
    MaxUnpool2d,
)
from cnnlab.nn.layers.recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from cnnlab.nn.layers.sparse import Embedding

__all__ = [
    "AdditiveAttention",
    "Embedding",
    "Softplus",
    "PReLU",
    "MaxPool1d",
    "LocalResponseNorm",
    "LayerNorm",
    "InstanceNorm2d",
    "InstanceNorm1d",
    "AvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv1d",
    "Conv2d",
    "ConvTranspose2d",
    "CrossEntropyLoss",
    "DiceLoss",
    "Dropout",
    "Dropout2d",
    "ELU",
    "GELU",
    "Hardtanh",
    "SiLU",
    "Flatten",
    "GRU",
    "GRUCell",
    "Identity",
    "LeakyReLU",
    "LSTM",
    "LSTMCell",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "MaxPool2d",
    "MaxUnpool2d",
    "NLLLoss",
    "ReLU",
    "ReLU6",
    "RNN",
    "RNNCell",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "Upsample",
]

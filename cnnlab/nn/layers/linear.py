"""Linear (fully connected) layer.

Default initialisation is He (``kaiming_normal_``, fan_in, gain sqrt(2): N(0, 2 / in_features))
for the weight and zeros for the bias: cnnlab's documented default, which differs on purpose
from PyTorch's kaiming_uniform_(a=sqrt(5)) with a uniform bias.
"""

from __future__ import annotations

import numpy as np

import cnnlab.nn.functional as F
from cnnlab import backend
from cnnlab.nn import init
from cnnlab.nn.layers._validate import check_input
from cnnlab.nn.module import Module
from cnnlab.nn.parameter import Parameter

__all__ = ["Linear"]


class Linear(Module):
    """``y = x W^T + b``.

    Shape: input (*, in_features) -> output (*, out_features); weight (out_features,
    in_features), bias (out_features,).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        dtype = np.dtype(dtype) if dtype is not None else backend.get_default_dtype()
        self.weight = Parameter(np.empty((out_features, in_features), dtype))
        self.bias = Parameter(np.empty(out_features, dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """He normal weight (N(0, 2 / in_features)), zero bias: cnnlab's default, not torch's."""
        init.kaiming_normal_(self.weight, mode="fan_in", nonlinearity="relu")
        if self.bias is not None:
            init.zeros_(self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )

    def forward(self, x):
        check_input(self, x, range(1, 64), f"(*, {self.in_features})", -1, self.in_features)
        return F.linear(x, self.weight, self.bias)

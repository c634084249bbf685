"""Linear (fully connected) layer.

Default initialisation is PyTorch's: ``kaiming_uniform_(weight, a=sqrt(5))``, which is
U(±1/sqrt(in_features)), and a bias uniform in ±1/sqrt(in_features). The zoo's networks
choose He explicitly (``cnnlab.models.he_init``).
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
        """PyTorch's default: weight kaiming-uniform with a = sqrt(5), i.e. U(±1/sqrt(fan_in)),
        and bias U(±1/sqrt(fan_in)); inside ``nn.init.layer_init(fn)``, ``fn(self)`` instead
        (cnnlab's zoo chooses He that way: models/he_init.py)."""
        override = init.layer_init_override()
        if override is not None:
            override(self)
            return
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )

    def forward(self, x):
        check_input(self, x, range(1, 64), f"(*, {self.in_features})", -1, self.in_features)
        return F.linear(x, self.weight, self.bias)

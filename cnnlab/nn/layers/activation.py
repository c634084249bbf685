"""Activation layers: ReLU, LeakyReLU, PReLU, ReLU6, Hardtanh, ELU, SiLU, GELU, Softplus,
Sigmoid, Tanh, Softmax, LogSoftmax.

``inplace=`` is accepted for PyTorch compatibility and ignored: cnnlab never overwrites an
activation in place (the autograd graph may still need it).
"""

from __future__ import annotations

import numpy as np

import cnnlab.nn.functional as F
from cnnlab import backend
from cnnlab.nn import init as _init
from cnnlab.nn.module import Module
from cnnlab.nn.parameter import Parameter

__all__ = [
    "ELU",
    "GELU",
    "Hardtanh",
    "LeakyReLU",
    "LogSoftmax",
    "PReLU",
    "ReLU",
    "ReLU6",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
]


class _Inplace(Module):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_Inplace):
    """``max(0, x)``. Shape: any -> same."""

    def forward(self, x):
        return F.relu(x)


class ReLU6(_Inplace):
    """``min(max(0, x), 6)``. Shape: any -> same."""

    def forward(self, x):
        return F.relu6(x)


class LeakyReLU(Module):
    """``x if x > 0 else negative_slope * x``. Shape: any -> same."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)


class ELU(Module):
    """``x if x > 0 else alpha * (exp(x) - 1)``. Shape: any -> same."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")

    def forward(self, x):
        return F.elu(x, self.alpha)


class Hardtanh(Module):
    """Clamp to ``[min_val, max_val]``. Shape: any -> same."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def extra_repr(self) -> str:
        inplace = ", inplace=True" if self.inplace else ""
        return f"min_val={self.min_val}, max_val={self.max_val}{inplace}"

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val)


class SiLU(_Inplace):
    """``x * sigmoid(x)`` (swish, used by EfficientNet). Shape: any -> same."""

    def forward(self, x):
        return F.silu(x)


class GELU(Module):
    """``x * Phi(x)``; ``approximate='tanh'`` uses the tanh formula. Shape: any -> same."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate)


class PReLU(Module):
    """``x if x > 0 else weight * x`` with a learnt slope: one, or one per channel (dim 1).

    Shape: any with ``num_parameters == 1``, else ``(N, num_parameters, ...)`` -> the same.
    (The count is ``weight.numel()``: ``num_parameters()`` is every Module's parameter count
    in cnnlab, so it is not shadowed by an int as PyTorch's attribute would.)
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype=None) -> None:
        super().__init__()
        self.init = float(init)
        dtype = np.dtype(dtype) if dtype is not None else backend.get_default_dtype()
        self.weight = Parameter(np.empty(int(num_parameters), dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init.constant_(self.weight, self.init)

    def extra_repr(self) -> str:
        return f"num_parameters={self.weight.numel()}"

    def forward(self, x):
        return F.prelu(x, self.weight)


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold``. Shape: any."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = float(beta), float(threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)


class Sigmoid(Module):
    """``1 / (1 + exp(-x))``. Shape: any -> same."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """Shape: any -> same."""

    def forward(self, x):
        return F.tanh(x)


def _legacy_dim(ndim: int) -> int:
    # PyTorch's rule for dim=None (deprecated there): 0 for 0-, 1- and 3-D inputs, else 1.
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """``exp(x) / sum(exp(x))`` along ``dim``. Shape: any -> same."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def forward(self, x):
        return F.softmax(x, self.dim if self.dim is not None else _legacy_dim(x.ndim))


class LogSoftmax(Module):
    """``log(softmax(x))`` along ``dim``, computed stably. Shape: any -> same."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"

    def forward(self, x):
        return F.log_softmax(x, self.dim if self.dim is not None else _legacy_dim(x.ndim))

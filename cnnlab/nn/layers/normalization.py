"""Per-sample normalisation layers: LayerNorm, InstanceNorm1d/2d, LocalResponseNorm.

Unlike batch norm they use no batch statistics, so train and eval modes compute the same.
PyTorch's names and defaults (``weight``/``bias`` parameters; InstanceNorm's ``affine``
off by default; ``track_running_stats=True`` is not supported).
"""

from __future__ import annotations

import numpy as np

import cnnlab.nn.functional as F
from cnnlab import backend
from cnnlab.nn import init
from cnnlab.nn.layers._validate import check_input
from cnnlab.nn.module import Module
from cnnlab.nn.parameter import Parameter

__all__ = ["InstanceNorm1d", "InstanceNorm2d", "LayerNorm", "LocalResponseNorm"]


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dims, then ``* weight + bias``.

    Shape: input ``(*, *normalized_shape)`` -> the same.
    """

    def __init__(
        self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
        bias: bool = True, dtype=None,
    ) -> None:  # fmt: skip
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape, self.eps = tuple(int(d) for d in shape), float(eps)
        self.elementwise_affine = elementwise_affine
        dtype = np.dtype(dtype) if dtype is not None else backend.get_default_dtype()
        self.weight = (
            Parameter(np.empty(self.normalized_shape, dtype)) if elementwise_affine else None
        )
        self.bias = (
            Parameter(np.empty(self.normalized_shape, dtype))
            if elementwise_affine and bias
            else None
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)


class _InstanceNorm(Module):
    _ndim = 0

    def __init__(
        self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
        affine: bool = False, track_running_stats: bool = False, dtype=None,
    ) -> None:  # fmt: skip
        super().__init__()
        if track_running_stats:
            raise ValueError(f"{type(self).__name__}: track_running_stats=True is not supported")
        self.num_features, self.eps, self.momentum = num_features, float(eps), momentum
        self.affine, self.track_running_stats = affine, False
        dtype = np.dtype(dtype) if dtype is not None else backend.get_default_dtype()
        self.weight = Parameter(np.empty(num_features, dtype)) if affine else None
        self.bias = Parameter(np.empty(num_features, dtype)) if affine else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.affine}, track_running_stats=False"
        )

    def forward(self, x):
        n = self._ndim
        check_input(
            self, x, (n + 1, n + 2), f"(N, {self.num_features}, ...)", -n - 1, self.num_features
        )
        batched = x.ndim == n + 2
        y = F.instance_norm(x if batched else x.unsqueeze(0), self.weight, self.bias, self.eps)
        return y if batched else y.squeeze(0)


class InstanceNorm1d(_InstanceNorm):
    """Normalise each (sample, channel) over its length. Shape: ``(N, C, L)`` or ``(C, L)``."""

    _ndim = 1


class InstanceNorm2d(_InstanceNorm):
    """Normalise each (sample, channel) over its image. Shape: ``(N, C, H, W)`` or ``(C, H, W)``."""

    _ndim = 2


class LocalResponseNorm(Module):
    """Divide by ``(k + alpha / size * sum of squares over size neighbouring channels)^beta``
    (AlexNet's normalisation). Shape: ``(N, C, ...)`` -> the same."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = int(size), float(alpha), float(beta), float(k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"

    def forward(self, x):
        return F.local_response_norm(x, self.size, self.alpha, self.beta, self.k)

"""Batch normalisation layers: BatchNorm1d and BatchNorm2d.

Buffers have PyTorch's names (``running_mean``, ``running_var``, ``num_batches_tracked``) so
state_dicts move across. In training mode the batch statistics normalise and the running
statistics are updated in place (by ``F.batch_norm``); in eval mode the running ones are used.
"""

from __future__ import annotations

import numpy as np

import cnnlab.nn.functional as F
from cnnlab import backend
from cnnlab.autograd import Tensor
from cnnlab.nn import init
from cnnlab.nn.layers._validate import check_input
from cnnlab.nn.module import Module
from cnnlab.nn.parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _BatchNorm(Module):
    _ndims: tuple = ()
    _pattern = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dtype = np.dtype(dtype) if dtype is not None else backend.get_default_dtype()
        # affine=False drops both; bias=False (PyTorch 2.x) keeps only the scale
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype))
        else:
            self.register_parameter("weight", None)
        if affine and bias:
            self.bias = Parameter(np.zeros(num_features, dtype))
        else:
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        """Running stats to (0, 1), weight to 1, bias to 0."""
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )

    def forward(self, x):
        check_input(self, x, self._ndims, self._pattern, 1, self.num_features)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.array)
        use_batch_stats = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(
            x,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )


class BatchNorm1d(_BatchNorm):
    """Batch norm over the channel dim of (N, C) or (N, C, L); statistics per channel.

    Shape: input (N, C) or (N, C, L) -> same.
    """

    _ndims = (2, 3)

    @property
    def _pattern(self) -> str:
        return f"(N, {self.num_features}) or (N, {self.num_features}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch norm over NCHW images: per-channel statistics over (N, H, W).

    Shape: input (N, C, H, W) -> same.
    """

    _ndims = (4,)

    @property
    def _pattern(self) -> str:
        return f"(N, {self.num_features}, H, W)"

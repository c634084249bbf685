"""Convolution layers: Conv1d, Conv2d, ConvTranspose2d.

Default initialisation is PyTorch's: ``kaiming_uniform_(weight, a=sqrt(5))`` (U(±1/sqrt(fan_in)))
and a bias uniform in ±1/sqrt(fan_in), so a ported PyTorch program starts where it did. The zoo's
ReLU networks choose He-normal weights and zero biases explicitly (``cnnlab.models.he_init``).
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

__all__ = ["Conv1d", "Conv2d", "ConvTranspose2d"]


def _tuple(v, n: int, name: str) -> tuple:
    if isinstance(v, str):
        return v
    if isinstance(v, (tuple, list)):
        if len(v) != n:
            raise ValueError(f"{name} must be an int or a {n}-tuple, got {v!r}")
        return tuple(int(i) for i in v)
    return (int(v),) * n


class _ConvNd(Module):
    _n = 2
    _transposed = False

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride,
        padding,
        dilation,
        groups,
        bias,
        padding_mode,
        output_padding=0,
        dtype=None,
    ) -> None:
        super().__init__()
        n = self._n
        name = self._get_name()
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels ({in_channels}) and out_channels "
                f"({out_channels}) must be divisible by groups ({groups})"
            )
        if padding_mode != "zeros":
            raise ValueError(
                f"{name}: only padding_mode='zeros' is supported, got {padding_mode!r}"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _tuple(kernel_size, n, "kernel_size")
        self.stride = _tuple(stride, n, "stride")
        self.padding = _tuple(padding, n, "padding")
        self.dilation = _tuple(dilation, n, "dilation")
        self.output_padding = _tuple(output_padding, n, "output_padding")
        self.padding_mode = padding_mode
        self.transposed = self._transposed
        dtype = np.dtype(dtype) if dtype is not None else backend.get_default_dtype()
        if self._transposed:
            wshape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            wshape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(np.empty(wshape, dtype))
        self.bias = Parameter(np.empty(out_channels, dtype)) if bias else None
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
        n = self._n
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s

    def _check(self, x) -> None:
        spatial = ("L",) if self._n == 1 else ("H", "W")
        pattern = f"(N, {self.in_channels}, {', '.join(spatial)})"
        check_input(self, x, (self._n + 2,), pattern, 1, self.in_channels)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L).

    Shape: input (N, C_in, L) -> output (N, C_out, L_out); weight (C_out, C_in/groups, k).
    """

    _n = 1

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        dtype=None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            dtype=dtype,
        )

    def forward(self, x):
        self._check(x)
        return F.conv1d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )


class Conv2d(_ConvNd):
    """2-D convolution over NCHW images.

    Shape: input (N, C_in, H, W) -> output (N, C_out, H_out, W_out);
    weight (C_out, C_in/groups, kh, kw), bias (C_out,).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        dtype=None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            dtype=dtype,
        )

    def forward(self, x):
        self._check(x)
        return self._conv_forward(x, self.weight, self.bias)

    def _conv_forward(self, x, weight, bias):
        """This layer's convolution with the given weight and bias (PyTorch's name): what
        subclasses such as EfficientNet's TF padding override."""
        return F.conv2d(x, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def _pads(self, x) -> tuple:
        """The zero padding ``(top, bottom, left, right)`` this layer gives ``x``. A subclass
        that overrides ``_conv_forward`` with another padding says which here (EfficientNet's
        TF padding); :mod:`cnnlab.nn.fusion` fuses activations only into convolutions whose
        padding it knows."""
        (ph, pw) = self.padding
        return (ph, ph, pw, pw)


class ConvTranspose2d(_ConvNd):
    """Transposed 2-D convolution (the gradient of Conv2d with respect to its input).

    Shape: input (N, C_in, H, W) -> output (N, C_out, H_out, W_out) with
    ``H_out = (H - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1``;
    weight (C_in, C_out/groups, kh, kw).
    """

    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups: int = 1,
        bias: bool = True,
        dilation=1,
        padding_mode: str = "zeros",
        dtype=None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            output_padding,
            dtype=dtype,
        )

    def _output_padding(self, x, output_size) -> tuple:
        if output_size is None:
            return self.output_padding
        size = tuple(output_size)[-2:]
        pad = []
        for d in range(2):
            base = (
                (x.shape[d + 2] - 1) * self.stride[d]
                - 2 * self.padding[d]
                + self.dilation[d] * (self.kernel_size[d] - 1)
                + 1
            )
            extra = size[d] - base
            if not 0 <= extra < max(self.stride[d], self.dilation[d]):
                raise ValueError(
                    f"{self._describe()}: requested output size {tuple(size)} is "
                    f"not reachable from input {tuple(x.shape)}"
                )
            pad.append(extra)
        return tuple(pad)

    def forward(self, x, output_size=None):
        self._check(x)
        return F.conv_transpose2d(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(x, output_size),
            self.groups,
            self.dilation,
        )

"""Pooling layers (no parameters): MaxPool1d, MaxPool2d, MaxUnpool2d, AvgPool1d, AvgPool2d,
AdaptiveAvgPool2d, AdaptiveMaxPool2d."""

from __future__ import annotations

import cnnlab.nn.functional as F
from cnnlab.nn.layers._validate import check_input
from cnnlab.nn.module import Module

__all__ = [
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "MaxPool1d",
    "MaxPool2d",
    "MaxUnpool2d",
]

_NCHW = "(N, C, H, W) or (C, H, W)"  # unbatched input works, as in torch


class MaxPool2d(Module):
    """Max over sliding windows; ``return_indices=True`` also returns the flat argmax
    positions (per H*W plane) that :class:`MaxUnpool2d` needs.

    Shape: input (N, C, H, W) -> output (N, C, H_out, W_out).
    """

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        dilation=1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )

    def forward(self, x):
        check_input(self, x, (3, 4), _NCHW)
        return F.max_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            ceil_mode=self.ceil_mode,
            return_indices=self.return_indices,
        )


class MaxUnpool2d(Module):
    """Partial inverse of MaxPool2d: puts each value back at its argmax, zeros elsewhere.

    Shape: input and indices (N, C, H, W) -> output (N, C, H_out, W_out) with
    ``H_out = (H - 1) * stride - 2 * padding + kernel_size`` unless ``output_size`` is given.
    """

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, x, indices, output_size=None):
        check_input(self, x, (3, 4), _NCHW)
        return F.max_unpool2d(x, indices, self.kernel_size, self.stride, self.padding, output_size)


class AvgPool2d(Module):
    """Mean over sliding windows.

    Shape: input (N, C, H, W) -> output (N, C, H_out, W_out).
    """

    def __init__(
        self,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override=None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, x):
        check_input(self, x, (3, 4), _NCHW)
        kw = {"divisor_override": self.divisor_override} if self.divisor_override else {}
        return F.avg_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            **kw,
        )


class AdaptiveAvgPool2d(Module):
    """Mean pooling to a fixed output size (``(1, 1)`` gives global average pooling).

    Shape: input (N, C, H, W) -> output (N, C, *output_size).
    """

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, x):
        check_input(self, x, (3, 4), _NCHW)
        return F.adaptive_avg_pool2d(x, self.output_size)


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed output size; ``return_indices=True`` also returns the argmax.

    Shape: input (N, C, H, W) -> output (N, C, *output_size).
    """

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, x):
        check_input(self, x, (3, 4), _NCHW)
        return F.adaptive_max_pool2d(x, self.output_size, self.return_indices)


class MaxPool1d(Module):
    """Max over sliding windows of a sequence. Shape: ``(N, C, L)`` or ``(C, L)`` ->
    ``(N, C, L_out)``."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )

    def forward(self, x):
        check_input(self, x, (2, 3), "(N, C, L) or (C, L)")
        args = (self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode)
        return F.max_pool1d(x, *args)


class AvgPool1d(Module):
    """Mean over sliding windows of a sequence. Shape: ``(N, C, L)`` or ``(C, L)`` ->
    ``(N, C, L_out)``."""

    def __init__(
        self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True
    ) -> None:
        super().__init__()

        def single(v):
            return tuple(v) if isinstance(v, (tuple, list)) else (v,)

        self.kernel_size = single(kernel_size)
        self.stride = single(stride) if stride is not None else self.kernel_size
        self.padding, self.ceil_mode, self.count_include_pad = (
            single(padding),
            ceil_mode,
            count_include_pad,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, x):
        check_input(self, x, (2, 3), "(N, C, L) or (C, L)")
        args = (self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)
        return F.avg_pool1d(x, *args)

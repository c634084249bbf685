"""Memory formats, as PyTorch's: how an image's values lie in memory, said by its strides.

An image is always indexed ``(N, C, H, W)``. ``contiguous_format`` stores it in that order
(C-contiguous); ``channels_last`` stores each pixel's channels side by side (NHWC: the array
is ``x.transpose(0, 2, 3, 1)`` made contiguous, viewed back). NumPy and every op read both
unchanged; the oneDNN kernels run their convolutions on channels-last images and write
channels-last results, so a network runs there without reordering between layers. The user
may start in it: ``x.contiguous(memory_format=cnnlab.channels_last)``,
``model.to(memory_format=cnnlab.channels_last)``.
"""

from __future__ import annotations

__all__ = ["as_format", "channels_last", "contiguous_format", "is_format", "memory_format"]


class memory_format:  # noqa: N801 - PyTorch's name
    """A memory format: :data:`contiguous_format` or :data:`channels_last`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"cnnlab.{self.name}"


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")


def _check(fmt, what: str) -> None:
    if fmt is not contiguous_format and fmt is not channels_last:
        raise ValueError(
            f"{what}: memory_format must be cnnlab.contiguous_format or cnnlab.channels_last, "
            f"got {fmt!r}"
        )


def is_format(a, fmt, what: str = "is_contiguous") -> bool:
    """Whether the array ``a`` lies in memory as ``fmt`` (channels_last needs 4 dims)."""
    _check(fmt, what)
    if fmt is contiguous_format:
        return bool(a.flags.c_contiguous)
    return a.ndim == 4 and bool(a.transpose(0, 2, 3, 1).flags.c_contiguous)


def as_format(a, fmt, what: str = "contiguous"):
    """``a`` itself where it lies as ``fmt``, else a copy that does (same values, same shape)."""
    if is_format(a, fmt, what):
        return a
    if fmt is contiguous_format:
        return a.copy(order="C")
    if a.ndim != 4:
        raise ValueError(f"{what}: channels_last needs a 4-D (N, C, H, W) array, got {a.shape}")
    return a.transpose(0, 2, 3, 1).copy(order="C").transpose(0, 3, 1, 2)

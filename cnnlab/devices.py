"""Devices as PyTorch names them: ``cnnlab.device("cpu")``, ``"cuda:0"``, ``("cuda", 1)``.

cnnlab computes on the CPU (NumPy) and on CUDA GPUs through CuPy. A :class:`device` can name
any device type PyTorch knows (``mps``, ``xla`` ...), as ``torch.device`` can; putting a
tensor or a module there raises one line saying why cnnlab cannot run it.

A :class:`device` is a ``str`` (``"cpu"``, ``"cuda:1"``), so it compares equal to the strings
PyTorch programs write (``x.device == "cpu"``) and goes wherever a device string went.
"""

from __future__ import annotations

import numpy as np

__all__ = ["device", "split_to_args", "runnable"]

# The device types torch.device accepts; only cpu and cuda are computed on by cnnlab.
_KNOWN = (
    "cpu",
    "cuda",
    "mps",
    "xpu",
    "xla",
    "meta",
    "hip",
    "ipu",
    "mtia",
    "hpu",
    "vulkan",
    "privateuseone",
)


class device(str):
    """Where a tensor lives: ``device("cpu")``, ``device("cuda:1")``, ``device("cuda", 1)``
    or ``device(0)`` (CUDA device 0). ``.type`` and ``.index`` as ``torch.device``."""

    __slots__ = ()

    def __new__(cls, type, index: int | None = None):
        if isinstance(type, device) and index is None:
            return type
        if isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"cnnlab.device: expected a string or an int, got {type!r}")
        kind, sep, num = type.partition(":")
        if sep:
            if index is not None:
                raise ValueError(f"cnnlab.device: index given twice in {type!r} and {index}")
            if not num.isdigit():
                raise ValueError(f"cnnlab.device: invalid device string {type!r}")
            index = int(num)
        if kind not in _KNOWN:
            raise ValueError(
                f"cnnlab.device: unknown device {type!r}: expected one of {', '.join(_KNOWN)} "
                "at the start of the device string"
            )
        if index is not None and (not isinstance(index, int) or index < 0):
            raise ValueError(f"cnnlab.device: index must be an int >= 0, got {index!r}")
        text = kind if index is None else f"{kind}:{index}"
        return super().__new__(cls, text)

    @property
    def type(self) -> str:
        return self.partition(":")[0]

    @property
    def index(self) -> int | None:
        num = self.partition(":")[2]
        return int(num) if num else None

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __reduce__(self):
        return (device, (str(self),))


def runnable(dev) -> device:
    """``dev`` as a :class:`device` cnnlab can compute on, or a one-line error saying why not."""
    d = device(dev)
    if d.type == "cpu":
        return d
    if d.type == "cuda":
        from cnnlab import cuda

        if not cuda.is_available():
            raise RuntimeError(
                f"cnnlab cannot run on device '{d}': its CUDA path needs CuPy and a CUDA GPU, and "
                "cnnlab.cuda.is_available() is False here (pip install cupy-cuda12x on a GPU "
                "machine), or use 'cpu'"
            )
        if d.index is not None and d.index >= cuda.device_count():
            raise RuntimeError(
                f"cnnlab cannot run on device '{d}': this machine has {cuda.device_count()} "
                "CUDA device(s)"
            )
        return d
    raise RuntimeError(
        f"cnnlab cannot run on device '{d}': cnnlab computes on 'cpu' (NumPy) and 'cuda' (CuPy) "
        "only"
    )


def _is_dtype(a) -> bool:
    if isinstance(a, str):
        return False
    try:
        np.dtype(a)
    except TypeError:
        return False
    return True


def split_to_args(where: str, args, dtype=None, device_=None):
    """Read ``.to(...)``'s positional arguments as PyTorch does: a device (object, string or
    CUDA index), a dtype, or a tensor whose dtype and device to take. Returns
    ``(dtype or None, runnable device or None)``."""
    for a in args:
        if isinstance(a, str) or (isinstance(a, int) and not isinstance(a, bool)):
            device_ = a
        elif not isinstance(a, type) and hasattr(a, "device") and hasattr(a, "shape"):
            dtype, device_ = a.dtype, a.device
        elif _is_dtype(a):
            dtype = a
        else:
            raise TypeError(f"{where}: expected a device, a dtype or a tensor, got {a!r}")
    if dtype is not None:
        dtype = np.dtype(dtype)
    return dtype, (None if device_ is None else runnable(device_))


CPU = device("cpu")

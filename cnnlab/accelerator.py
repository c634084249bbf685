"""``cnnlab.accelerator``, as ``torch.accelerator``: the one accelerator cnnlab can use (CUDA
through CuPy), or none.

The tutorials' idiom ``torch.accelerator.current_accelerator().type if
torch.accelerator.is_available() else "cpu"`` gives ``"cpu"`` on a machine without one.
"""

from __future__ import annotations

from cnnlab import backend, cuda
from cnnlab.devices import device

__all__ = ["current_accelerator", "device_count", "is_available"]


def is_available() -> bool:
    """Whether an accelerator cnnlab can compute on is present (a CUDA GPU with CuPy)."""
    return cuda.is_available()


def device_count() -> int:
    return cuda.device_count()


def current_accelerator(check_available: bool = False) -> device | None:
    """``device('cuda')`` where cnnlab has its CUDA path (CuPy installed), else None, as
    PyTorch answers from its build; with ``check_available``, None also where no GPU is
    present now."""
    if not backend.has_cupy() or (check_available and not is_available()):
        return None
    return device("cuda")

"""Array backend, default dtype and seeding.

One backend per call, chosen from the arrays themselves: NumPy always, CuPy when it is
installed and the arrays live on a GPU. Nothing here is a global switch of the backend.
"""

from __future__ import annotations

import numpy as np

from cnnlab.devices import CPU, device, runnable

try:  # CuPy is an optional extra; CI has none.
    import cupy as _cupy  # type: ignore[import-not-found]
except Exception:  # pragma: no cover - depends on the machine
    _cupy = None

_default_dtype = np.dtype(np.float32)
_rng = np.random.default_rng()


def get_array_module(*arrays):
    """Return ``cupy`` if any argument is a CuPy array, else ``numpy``."""
    if _cupy is not None:
        for a in arrays:
            if isinstance(a, _cupy.ndarray):
                return _cupy
            data = getattr(a, "array", None)
            if isinstance(data, _cupy.ndarray):
                return _cupy
    return np


def has_cupy() -> bool:
    return _cupy is not None


def to_numpy(a) -> np.ndarray:
    """Host copy of an array from any backend."""
    if _cupy is not None and isinstance(a, _cupy.ndarray):
        return _cupy.asnumpy(a)
    return np.asarray(a)


def to_device(a, device):
    """Move an array to a device cnnlab runs on (``'cpu'``, ``'cuda'``, ``'cuda:1'`` or a
    :class:`cnnlab.device`); any other device raises one line saying why."""
    d = runnable(device)
    if d.type == "cpu":
        return to_numpy(a)
    if d.index is None:
        return _cupy.asarray(a)
    with _cupy.cuda.Device(d.index):  # pragma: no cover - needs a GPU
        return _cupy.asarray(a)


def device_of(a) -> device:
    """The :class:`cnnlab.device` an array lives on (``cuda:N`` for a CuPy array)."""
    if get_array_module(a) is np:
        return CPU
    return device("cuda", int(getattr(getattr(a, "device", None), "id", 0)))  # pragma: no cover


def get_default_dtype() -> np.dtype:
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the floating dtype used for new tensors made from Python numbers and lists."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"default dtype must be float32 or float64, got {dtype}")
    _default_dtype = dtype


def manual_seed(seed: int) -> None:
    """Seed cnnlab's random generator (initialisation, dropout, shuffling, augmentation)."""
    global _rng
    _rng = np.random.default_rng(seed)
    if _cupy is not None:  # pragma: no cover
        _cupy.random.seed(seed)


def default_rng() -> np.random.Generator:
    """The generator behind cnnlab's random numbers; seed it with :func:`manual_seed`."""
    return _rng


def get_rng_state() -> dict:
    """The generator's state as a JSON-able dict (for checkpoints)."""
    return _rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    _rng.bit_generator.state = state

"""``cnnlab.cuda``: whether cnnlab's CUDA path (CuPy) can run here, as ``torch.cuda``.

``is_available()`` is True only where CuPy imports and sees at least one GPU, so the
PyTorch idiom ``"cuda" if torch.cuda.is_available() else "cpu"`` picks a device cnnlab
can actually compute on.
"""

from __future__ import annotations

from cnnlab import backend

__all__ = [
    "amp",
    "current_device",
    "device_count",
    "empty_cache",
    "get_device_name",
    "is_available",
    "manual_seed",
    "manual_seed_all",
    "synchronize",
]


def _cupy():
    return backend._cupy  # the module backend imported, or None


def device_count() -> int:
    """The number of CUDA GPUs CuPy sees (0 without CuPy or without a GPU)."""
    cupy = _cupy()
    if cupy is None:
        return 0
    try:
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # CuPy without a driver or a GPU raises its own runtime errors
        return 0


def is_available() -> bool:
    """True where cnnlab can compute on a CUDA GPU: CuPy imports and a GPU is present."""
    return device_count() > 0


def _need(what: str):
    if not is_available():
        raise RuntimeError(
            f"cnnlab.cuda.{what}: no CUDA device cnnlab can use (it needs CuPy and a GPU; "
            "cnnlab.cuda.is_available() is False)"
        )
    return _cupy()


def current_device() -> int:
    return int(_need("current_device()").cuda.runtime.getDevice())


def get_device_name(device=None) -> str:
    cupy = _need("get_device_name()")
    index = current_device() if device is None else _index(device)
    name = cupy.cuda.runtime.getDeviceProperties(index)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def _index(device) -> int:
    from cnnlab.devices import device as _device

    if isinstance(device, int):
        return device
    return _device(device).index or 0


def synchronize(device=None) -> None:
    """Wait for the GPU's queued work to finish."""
    _need("synchronize()").cuda.Device(None if device is None else _index(device)).synchronize()


def empty_cache() -> None:
    """Give CuPy's cached GPU memory back (nothing to do without CuPy, as in PyTorch)."""
    if _cupy() is not None:
        _cupy().get_default_memory_pool().free_all_blocks()


def manual_seed(seed: int) -> None:
    """Seed the GPU generator; cnnlab draws its random numbers on the host, so this seeds
    cnnlab's generator (:func:`cnnlab.manual_seed`), as PyTorch allows without a GPU."""
    backend.manual_seed(seed)


manual_seed_all = manual_seed


def __getattr__(name: str):
    if name == "amp":  # torch.cuda.amp, loaded on first use
        import importlib

        return importlib.import_module("cnnlab.cuda.amp")
    raise AttributeError(f"module 'cnnlab.cuda' has no attribute {name!r}")

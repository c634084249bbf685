"""``autocast``: PyTorch's mixed-precision region, accepted and casting nothing (see
:mod:`cnnlab.amp`)."""

from __future__ import annotations

import functools

__all__ = ["autocast"]

_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "xla", "hpu", "mtia", "meta")


class autocast:  # noqa: N801 (PyTorch's name)
    """``with autocast(device_type="cuda", dtype=torch.float16, enabled=True):`` or as a
    decorator: the block runs unchanged, in the tensors' own dtypes."""

    def __init__(self, device_type: str = "cuda", dtype=None, enabled: bool = True,
                 cache_enabled=None) -> None:  # fmt: skip
        device_type = str(getattr(device_type, "type", device_type))
        if device_type not in _DEVICE_TYPES:
            raise ValueError(
                f"autocast: expected device_type one of {list(_DEVICE_TYPES)}, got {device_type!r}"
            )
        self.device_type, self.fast_dtype = device_type, dtype
        self.enabled, self.cache_enabled = bool(enabled), cache_enabled

    def __enter__(self) -> autocast:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return wrapped

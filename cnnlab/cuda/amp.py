"""``cnnlab.cuda.amp``, as ``torch.cuda.amp``: ``autocast`` (device "cuda") and
``GradScaler`` (device "cuda": disabled, with a warning, where no GPU is usable)."""

from __future__ import annotations

from cnnlab.amp import GradScaler as _GradScaler
from cnnlab.amp import autocast as _autocast

__all__ = ["GradScaler", "autocast"]


class autocast(_autocast):  # noqa: N801 (PyTorch's name)
    """``torch.cuda.amp.autocast(enabled=True, dtype=float16)``: see :mod:`cnnlab.amp`."""

    def __init__(self, enabled: bool = True, dtype=None, cache_enabled=None) -> None:
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class GradScaler(_GradScaler):
    """``torch.cuda.amp.GradScaler(...)``: ``cnnlab.amp.GradScaler("cuda", ...)``."""

    def __init__(self, init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True) -> None:  # fmt: skip
        super().__init__(
            "cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled
        )

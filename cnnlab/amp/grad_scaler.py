"""``GradScaler``: loss scaling as PyTorch's ``torch.amp.GradScaler``.

Each step: the loss is multiplied by the scale ``S`` before ``backward``, so the gradients
are ``S`` times too large; ``unscale_`` divides them by ``S`` and notes whether any is inf or
NaN; ``step`` then runs the optimiser only if none was; ``update`` halves ``S``
(``backoff_factor``) after a skipped step and doubles it (``growth_factor``) after
``growth_interval`` clean steps in a row.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["GradScaler"]


class GradScaler:
    """PyTorch's loss scaler. ``enabled=False`` (or ``"cuda"`` without a usable GPU) makes
    every method a pass-through: ``scale(loss)`` is ``loss``, ``step(opt)`` is
    ``opt.step()``."""

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> None:
        from cnnlab import cuda

        self.device = str(getattr(device, "type", device))
        if enabled and self.device == "cuda" and not cuda.is_available():
            warnings.warn(
                "GradScaler is enabled, but CUDA is not available (cnnlab needs CuPy and a "
                "GPU). Disabling.",
                stacklevel=2,
            )
            enabled = False
        if not growth_factor > 1.0 or not 0.0 < backoff_factor < 1.0:
            raise ValueError(
                f"GradScaler: expected growth_factor > 1 and 0 < backoff_factor < 1, got "
                f"{growth_factor} and {backoff_factor}"
            )
        self._enabled = bool(enabled)
        self._scale = float(init_scale)
        self._growth_factor, self._backoff_factor = float(growth_factor), float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._found_inf: dict = {}  # id(optimizer) -> bool, from unscale_ until update
        self._stepped: set = set()

    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        """The current scale (1.0 when disabled)."""
        return self._scale if self._enabled else 1.0

    def scale(self, outputs):
        """``outputs`` (a Tensor or nested lists/tuples of them) times the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        return outputs * self._scale

    def _params(self, optimizer):
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    yield p

    def unscale_(self, optimizer) -> None:
        """Divide ``optimizer``'s gradients by the scale, once per step, and note inf/NaN."""
        if not self._enabled:
            return
        if id(optimizer) in self._found_inf:
            raise RuntimeError(
                "unscale_() has already been called on this optimizer since the last update()."
            )
        found = False
        inv = 1.0 / self._scale
        for p in self._params(optimizer):
            g = p.grad.array
            g *= g.dtype.type(inv)
            found = found or not bool(np.isfinite(np.asarray(g)).all())
        self._found_inf[id(optimizer)] = found

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step()`` unless its unscaled gradients hold inf or NaN."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if id(optimizer) in self._stepped:
            raise RuntimeError("step() has already been called since the last update().")
        if id(optimizer) not in self._found_inf:
            self.unscale_(optimizer)
        self._stepped.add(id(optimizer))
        if self._found_inf[id(optimizer)]:
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None) -> None:
        """Back off after an inf/NaN, grow after ``growth_interval`` clean steps."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale)
        elif self._found_inf:
            if any(self._found_inf.values()):
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    self._scale *= self._growth_factor
                    self._growth_tracker = 0
        self._found_inf.clear()
        self._stepped.clear()

    def state_dict(self) -> dict:
        if not self._enabled:
            return {}
        return {
            "scale": self._scale,
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._growth_tracker,
        }

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        self._scale = float(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])

"""``cnnlab.Generator``: a seedable random-number generator object, as ``torch.Generator``.

It wraps a NumPy Generator (``.generator``), which cnnlab's data tools draw from when one is
passed as ``generator=`` (``random_split``, the samplers, ``DataLoader``), so
``random_split(ds, [0.8, 0.2], generator=cnnlab.Generator().manual_seed(42))`` splits the
same way every run. The numbers differ from PyTorch's (another algorithm); the API is its.
"""

from __future__ import annotations

import secrets

import numpy as np

__all__ = ["Generator"]

DEFAULT_SEED = 67280421310721  # torch.Generator's default seed


class Generator:
    """A random-number generator with its own state: ``manual_seed``, ``seed``,
    ``initial_seed``, ``get_state``/``set_state``. Only ``device='cpu'`` (host memory)."""

    def __init__(self, device="cpu") -> None:
        name = str(getattr(device, "type", device)).split(":")[0]
        if name != "cpu":
            raise ValueError(f"cnnlab.Generator: device {device!r} is not supported (only 'cpu')")
        self.device = device
        self.manual_seed(DEFAULT_SEED)

    def manual_seed(self, seed: int) -> Generator:
        """Reset to ``seed``; returns the generator (so calls chain, as in PyTorch)."""
        self._seed = int(seed)
        self.generator = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Reseed from the operating system's entropy; returns the new seed."""
        self.manual_seed(secrets.randbits(63))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        return {"seed": self._seed, "bit_generator": self.generator.bit_generator.state}

    def set_state(self, state: dict) -> Generator:
        self._seed = int(state["seed"])
        self.generator.bit_generator.state = state["bit_generator"]
        return self

    def __repr__(self) -> str:
        return f"<cnnlab.Generator seed={self._seed}>"

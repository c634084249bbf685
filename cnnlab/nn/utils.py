"""``nn.utils``: PyTorch's home for gradient clipping. The functions live in ``cnnlab.optim``
(they act on gradients, like optimisers); this module forwards to them lazily so that
``nn`` does not import ``optim`` (imports point down the package). ``freeze`` / ``unfreeze``
(transfer learning) live in :mod:`cnnlab.nn.freeze`."""

from __future__ import annotations

from cnnlab.nn.freeze import freeze, frozen_names, head_name, param_groups, unfreeze  # noqa: F401

_FORWARDED = ("clip_grad_norm_", "clip_grad_value_")


def __getattr__(name: str):
    if name in _FORWARDED:
        import cnnlab.optim as optim

        return getattr(optim, name)
    raise AttributeError(f"module 'cnnlab.nn.utils' has no attribute {name!r}")


def __dir__():
    return sorted((*_FORWARDED, "freeze", "frozen_names", "head_name", "param_groups", "unfreeze"))

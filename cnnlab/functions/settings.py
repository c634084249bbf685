"""``torch.compile`` and the global switches PyTorch programs set before training
(``set_float32_matmul_precision``, ``use_deterministic_algorithms``): accepted with
PyTorch's arguments and checked; they change nothing in how cnnlab computes.

``compile(model)`` returns ``model`` itself: cnnlab has no graph compiler, so a program that
compiles its model runs it as written. cnnlab multiplies float32 matrices in float32 whatever
the matmul precision, and its kernels give the same result run after run for a fixed thread
count.
"""

from __future__ import annotations

__all__ = [
    "are_deterministic_algorithms_enabled",
    "compile",
    "get_float32_matmul_precision",
    "set_float32_matmul_precision",
    "use_deterministic_algorithms",
]

_state = {"precision": "highest", "deterministic": False}
_PRECISIONS = ("highest", "high", "medium")


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,
            options=None, disable=False):  # fmt: skip
    """``model`` unchanged (or, called without one, a decorator that returns its function)."""
    if mode is not None and options is not None:
        raise RuntimeError("compile: either mode or options can be specified, but both can't")
    if model is None:
        return lambda fn: fn
    if not callable(model):
        raise TypeError(f"compile: expected a Module or a function, got {type(model).__name__}")
    return model


def set_float32_matmul_precision(precision: str) -> None:
    """Record ``precision`` ('highest', 'high' or 'medium'); cnnlab keeps float32."""
    if precision not in _PRECISIONS:
        raise RuntimeError(
            f"set_float32_matmul_precision: expected one of {list(_PRECISIONS)}, got {precision!r}"
        )
    _state["precision"] = precision


def get_float32_matmul_precision() -> str:
    return _state["precision"]


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record ``mode``; cnnlab's kernels are deterministic for a fixed thread count."""
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms: expected a bool, got {type(mode).__name__}")
    _state["deterministic"] = mode


def are_deterministic_algorithms_enabled() -> bool:
    return _state["deterministic"]

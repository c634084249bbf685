"""Grad-mode switches as PyTorch spells them, each a context manager and a decorator:
``no_grad``, ``enable_grad``, ``set_grad_enabled(mode)``, ``inference_mode(mode=True)``.

``@cnnlab.no_grad`` and ``@cnnlab.no_grad()`` both work. ``set_grad_enabled(False)`` called
on its own line switches recording off at once (PyTorch's function form). Inference mode
is no_grad here: cnnlab has no separate inference tensors.
"""

from __future__ import annotations

import functools
import threading

from cnnlab.autograd import _state, is_grad_enabled

__all__ = [
    "enable_grad",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "set_grad_enabled",
]


class _Mode:
    """Sets whether ops record a graph inside ``with`` or a decorated function."""

    enabled = True

    def __init__(self, func=None) -> None:
        self._func = func  # @no_grad without parentheses hands the function over here
        if func is not None:
            functools.update_wrapper(self, func)

    def __enter__(self):
        self._prev = _state.grad_enabled
        _state.grad_enabled = self.enabled
        return None

    def __exit__(self, *exc) -> bool:
        _state.grad_enabled = self._prev
        return False

    def clone(self):
        return type(self)()

    def __call__(self, *args, **kwargs):
        if self._func is not None:  # the decorated function itself, called
            with self.clone():
                return self._func(*args, **kwargs)
        (fn,) = args  # used as @no_grad(): decorate fn

        @functools.wraps(fn)
        def wrapper(*a, **kw):
            with self.clone():
                return fn(*a, **kw)

        return wrapper


class no_grad(_Mode):
    """Ops record no graph (inference, parameter updates)."""

    enabled = False


class enable_grad(_Mode):
    """Ops record a graph again (inside a ``no_grad`` block)."""

    enabled = True


class set_grad_enabled(_Mode):
    """Turn recording on or off: at once when called, for the block with ``with``, or
    around a function as a decorator."""

    def __init__(self, mode: bool) -> None:
        super().__init__()
        self.enabled = bool(mode)
        self._before = _state.grad_enabled
        _state.grad_enabled = self.enabled

    def __enter__(self):
        self._prev = self._before  # the mode before this object switched it
        _state.grad_enabled = self.enabled

    def __call__(self, fn):
        _state.grad_enabled = self._before  # as a decorator it switches only inside fn
        return super().__call__(fn)

    def clone(self):
        prev = _state.grad_enabled
        out = set_grad_enabled(self.enabled)
        _state.grad_enabled = prev  # made for a call of the decorated function: not yet
        return out


class inference_mode(_Mode):
    """``no_grad`` for inference (``mode=False`` leaves recording as it is)."""

    def __init__(self, mode: bool = True) -> None:
        func = mode if callable(mode) else None  # @inference_mode without parentheses
        super().__init__(func)
        self.mode = True if func is not None else bool(mode)

    def __enter__(self):
        self._prev = _state.grad_enabled
        _state.grad_enabled = False if self.mode else self._prev
        _inference.stack = [*_stack(), self.mode]

    def __exit__(self, *exc) -> bool:
        _inference.stack = _stack()[:-1]
        return super().__exit__(*exc)

    def clone(self):
        return inference_mode(self.mode)


_inference = threading.local()  # per thread, as the grad mode itself


def _stack() -> list:
    return getattr(_inference, "stack", [])


def is_inference_mode_enabled() -> bool:
    """Whether an ``inference_mode()`` block is active in this thread."""
    return bool(_stack() and _stack()[-1])

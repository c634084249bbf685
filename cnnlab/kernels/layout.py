"""Arrays that are not (yet) NCHW: what the engine and the ops need to know of them.

The oneDNN backend may hand an op's result on in its own blocked layout
(:class:`cnnlab.kernels.onednn.blocked.Blocked`, see there why) when the result is likely to
go to another oneDNN op. Such an object has ``shape``, ``dtype``, ``ndim``, ``size`` and
``dense()``; these helpers let code that needs plain arrays get them, without importing the
oneDNN package where it is absent. Ops say they accept such arrays with
``Function.keeps_layout = True``; every other op gets NCHW arrays from the engine.
"""

from __future__ import annotations

__all__ = ["add", "dense", "is_blocked", "tag"]


def is_blocked(a) -> bool:
    """Whether ``a`` is a blocked-layout image (not a NumPy/CuPy array)."""
    return getattr(type(a), "is_blocked", False)


def tag(a) -> int | None:
    """The oneDNN format tag of a blocked image's layout; None for a plain array (or None)."""
    return a.tag if is_blocked(a) else None


def dense(a):
    """``a`` as a plain array (one reorder for a blocked image; anything else as it is)."""
    return a.dense() if getattr(type(a), "is_blocked", False) else a


def add(a, b):
    """``a + b`` for gradients and element-wise sums: two blocked images of the same shape
    and layout add as flat buffers and stay blocked; any other pair is added as arrays."""
    if is_blocked(a) and a.same_layout(b):
        return a.plus(b)
    return dense(a) + dense(b)


def add_(a, b):
    """``a += b`` where ``a`` is a gradient the caller owns; returns the sum (``a`` itself
    where it could be updated in place)."""
    if is_blocked(a):
        if a.same_layout(b):
            return a.plus(b, out=a)
        return a.dense() + dense(b)
    a += dense(b)
    return a

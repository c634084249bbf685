"""oneDNN's threads: those of the one GNU OpenMP runtime (libgomp) in the process.

oneDNN's parallel regions take ``omp_get_max_threads()`` threads, an OpenMP setting of the
*calling* thread (each new thread starts from ``OMP_NUM_THREADS``, else the core count).
PyTorch, where it is imported, shares the same libgomp (both load it by its soname), so
``torch.set_num_threads`` changes oneDNN's count too, and the reverse.
"""

from __future__ import annotations

import ctypes
import functools
import os

from cnnlab.kernels.onednn.library import require

__all__ = ["get_num_threads", "openmp_runtimes", "set_num_threads"]

_OMP_NAMES = ("libgomp", "libiomp", "libomp")


@functools.cache
def _gomp() -> ctypes.CDLL:
    require()  # libdnnl brings libgomp in; this finds the one already loaded
    return ctypes.CDLL("libgomp.so.1")


def get_num_threads() -> int:
    """Threads oneDNN's kernels use when called from this thread."""
    return int(_gomp().omp_get_max_threads())


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in oneDNN's kernels called from this thread."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"oneDNN set_num_threads: expected a positive int, got {n!r}")
    _gomp().omp_set_num_threads(n)


def openmp_runtimes() -> list[str]:
    """The OpenMP runtime libraries mapped into this process (one is the healthy number)."""
    paths = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and os.path.basename(parts[5]).startswith(_OMP_NAMES):
                    paths.add(parts[5])
    except OSError:
        pass
    return sorted(paths)

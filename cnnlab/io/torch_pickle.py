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
tensors is not kept). bfloat16 storages are widened to float32, which is exact.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["UnsafePickleError", "load_torch_checkpoint"]

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


class _StorageType:
    """Stand-in for ``torch.FloatStorage`` & co.: only records the element type."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype: str):
        self.name, self.dtype = name, dtype

    @property
    def itemsize(self) -> int:
        return 2 if self.dtype == "bfloat16" else np.dtype(self.dtype).itemsize


class _Storage:
    """One flat torch storage; ``data`` is filled when its bytes are read (for legacy files,
    only after the object pickle). A storage *view* (pre-0.4 files) slices its root."""

    __slots__ = ("stype", "numel", "data", "root", "offset")

    def __init__(self, stype: _StorageType, numel: int, root=None, offset: int = 0):
        self.stype, self.numel, self.data = stype, int(numel), None
        self.root, self.offset = root, int(offset)

    def fill(self, raw: bytes, byteorder: str, where: str) -> None:
        need = self.numel * self.stype.itemsize
        if len(raw) < need:
            raise ValueError(f"{where}: storage truncated ({len(raw)} of {need} bytes)")
        order = "<" if byteorder == "little" else ">"
        if self.stype.dtype == "bfloat16":  # the top 16 bits of a float32
            bits = np.frombuffer(raw, f"{order}u2", self.numel).astype(np.uint32) << 16
            self.data = bits.view(np.float32)
        elif self.stype.dtype == "?":
            self.data = np.frombuffer(raw, np.uint8, self.numel) != 0
        else:
            dt = np.dtype(self.stype.dtype).newbyteorder(order)
            self.data = np.frombuffer(raw, dt, self.numel).astype(dt.newbyteorder("="))

    def array(self) -> np.ndarray:
        if self.root is not None:
            return self.root.array()[self.offset : self.offset + self.numel]
        if not isinstance(self.data, np.ndarray) or self.data.ndim != 1:
            raise ValueError("storage has no data (missing from the file?)")
        return self.data


class _PendingTensor:
    """What the rebuild stand-ins return; made into an ndarray once all storages are read."""

    __slots__ = ("storage", "offset", "size", "stride")

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _PendingTensor(storage, storage_offset, size, stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):  # fmt: skip
    return _PendingTensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=True, backward_hooks=None):
    return data


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    return data


def _torch_size(dims=()):
    return tuple(int(d) for d in dims)


class _Callable:
    """A fresh wrapper per lookup, so a crafted BUILD opcode cannot alter our functions."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)


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
        return _Callable(_FUNCTIONS[(module, name)])
    storage_modules = ("torch", "torch.cuda", "torch.storage")
    if module in storage_modules and name in _STORAGE_DTYPES:
        return _StorageType(name, _STORAGE_DTYPES[name])
    if module == "torch" and name in _TORCH_DTYPES:
        return np.dtype(_TORCH_DTYPES[name])
    return None


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, where: str, persistent_load=None):
        super().__init__(file, encoding="utf-8")
        self._where, self._persistent = where, persistent_load

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
    if len(pid) < 5 or not isinstance(pid[1], _StorageType) or not isinstance(pid[4], int):
        raise ValueError(f"{where}: malformed storage record {pid!r}")
    return pid


def _materialize(t: _PendingTensor, where: str) -> np.ndarray:
    if not isinstance(t.storage, _Storage):
        raise ValueError(f"{where}: tensor record without a storage")
    flat = t.storage.array()
    try:
        size = tuple(int(n) for n in t.size)
        stride = tuple(int(s) for s in t.stride)
        offset = int(t.offset)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: malformed tensor record") from None
    if len(size) != len(stride) or min((offset, *size, *stride)) < 0:
        raise ValueError(f"{where}: bad tensor geometry size={size} stride={stride}")
    if 0 in size:
        return np.zeros(size, flat.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= flat.size:  # as_strided must never reach outside the storage
        raise ValueError(
            f"{where}: tensor (size={size}, stride={stride}, offset={offset}) exceeds its "
            f"storage of {flat.size} elements"
        )
    strides = tuple(s * flat.itemsize for s in stride)
    view = np.lib.stride_tricks.as_strided(flat[offset:], shape=size, strides=strides)
    return view.copy(order="C")


def _resolve(obj, where: str, memo: dict):
    """Replace every pending tensor in ``obj`` by its array, keeping container types."""
    key = id(obj)
    if key in memo:
        return memo[key]
    if isinstance(obj, _PendingTensor):
        out = _materialize(obj, where)
    elif isinstance(obj, dict):
        out = type(obj)()
        memo[key] = out
        for k, v in obj.items():
            out[k] = _resolve(v, where, memo)
        for k, v in getattr(obj, "__dict__", {}).items():  # e.g. a state_dict's _metadata
            setattr(out, k, _resolve(v, where, memo))
    elif isinstance(obj, list):
        out = []
        memo[key] = out
        out.extend(_resolve(v, where, memo) for v in obj)
    elif isinstance(obj, tuple):
        out = tuple(_resolve(v, where, memo) for v in obj)
    elif isinstance(obj, (_Storage, _StorageType, _Callable)):
        raise ValueError(f"{where}: bare storages or functions are not supported")
    else:
        out = obj
    memo[key] = out
    return out


def _load_zip(path: Path, where: str):
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        pkls = sorted(n for n in names if n.endswith("/data.pkl") and n.count("/") == 1)
        if not pkls:
            raise ValueError(f"{where}: zip archive without <name>/data.pkl; not a torch.save file")
        prefix = pkls[0][: -len("data.pkl")]
        byteorder = "little"
        if prefix + "byteorder" in names:
            byteorder = zf.read(prefix + "byteorder").decode("ascii").strip()
        storages: dict[str, _Storage] = {}

        def persistent_load(pid):
            _, stype, key, _location, numel = _storage_pid(pid, where)[:5]
            key = str(key)
            if key not in storages:
                member = f"{prefix}data/{key}"
                if member not in names:
                    raise ValueError(f"{where}: missing storage file {member}")
                storage = _Storage(stype, numel)
                storage.fill(zf.read(member), byteorder, where)
                storages[key] = storage
            return storages[key]

        raw = zf.read(pkls[0])
        return _RestrictedUnpickler(io.BytesIO(raw), where, persistent_load).load()


def _load_legacy(path: Path, where: str):
    storages: dict[str, _Storage] = {}

    def persistent_load(pid):
        pid = _storage_pid(pid, where)
        stype, key, numel = pid[1], str(pid[2]), pid[4]
        root = storages.setdefault(key, _Storage(stype, numel))
        view = pid[5] if len(pid) > 5 else None
        if view is None:
            return root
        view_key, offset, view_numel = view
        return storages.setdefault(str(view_key), _Storage(stype, view_numel, root, offset))

    with open(path, "rb") as f:
        plain = _RestrictedUnpickler(f, where)  # no globals, no persistent ids
        if plain.load() != _LEGACY_MAGIC:
            raise ValueError(f"{where}: not a PyTorch checkpoint (bad magic number)")
        if plain.load() != _LEGACY_PROTOCOL:
            raise ValueError(f"{where}: unsupported legacy protocol version")
        sys_info = plain.load()
        byteorder = "little" if sys_info.get("little_endian", True) else "big"
        result = _RestrictedUnpickler(f, where, persistent_load).load()
        keys = _RestrictedUnpickler(f, where).load()
        for key in keys:
            storage = storages.get(str(key))
            if storage is None or storage.root is not None:
                raise ValueError(f"{where}: unknown storage key {key!r}")
            head = f.read(8)
            if len(head) != 8:
                raise ValueError(f"{where}: file truncated before storage {key!r}")
            (numel,) = struct.unpack("<q", head)
            if numel != storage.numel:
                raise ValueError(f"{where}: storage {key!r} has {numel} elements, expected "
                                 f"{storage.numel}")  # fmt: skip
            storage.fill(f.read(numel * storage.stype.itemsize), byteorder, where)
    return result


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
            obj = _load_zip(path, where)
        elif head[257:262] == b"ustar":
            raise ValueError(f"{where}: the pre-0.4 tar checkpoint format is not supported")
        else:
            obj = _load_legacy(path, where)
    except (UnsafePickleError, ValueError):
        raise
    except (pickle.UnpicklingError, EOFError, TypeError, AttributeError, KeyError,
            IndexError, struct.error, zipfile.BadZipFile, UnicodeDecodeError) as exc:  # fmt: skip
        raise ValueError(f"cannot read {where} as a PyTorch checkpoint: {exc}") from exc
    return _resolve(obj, where, {})

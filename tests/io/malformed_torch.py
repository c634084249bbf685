"""Hand-made hostile ``torch.save`` files for the reader's tests (no torch needed): zip bombs,
stride tricks, deep nesting, huge headers and truncations, each written in a few kilobytes."""

from __future__ import annotations

import pickle
import struct
import zipfile

LEGACY_HEADERS = (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True})


def _int(n: int) -> bytes:
    return pickle.dumps(n, protocol=2)[2:-1]  # the opcode pickle itself uses for n


def _str(s: str) -> bytes:
    return b"X" + struct.pack("<I", len(s)) + s.encode()


def _tuple(xs) -> bytes:
    return b"(" + b"".join(_int(x) for x in xs) + b"t"


def tensor(size, stride, offset=0, numel=6, key="0", storage="FloatStorage") -> bytes:
    """The pickle opcodes of ``_rebuild_tensor_v2(<storage key>, offset, size, stride, ...)``."""
    pid = b"(" + _str("storage") + f"ctorch\n{storage}\n".encode() + _str(key) + _str("cpu")
    pid += _int(numel) + b"tQ"
    args = b"(" + pid + _int(offset) + _tuple(size) + _tuple(stride)
    args += b"\x89ccollections\nOrderedDict\n)Rt"
    return b"ctorch._utils\n_rebuild_tensor_v2\n" + args + b"R"


def state(**tensors: bytes) -> bytes:
    """A protocol-2 pickle of ``{name: tensor, ...}``."""
    body = b"".join(_str(k) + v + b"s" for k, v in tensors.items())
    return b"\x80\x02}" + body + b"."


def nested(depth: int) -> bytes:
    """A list nested ``depth`` deep: ``[[[...]]]``."""
    return b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."


def write_zip(path, pkl: bytes, storages=None, compress=zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", compression=compress) as zf:
        zf.writestr("archive/data.pkl", pkl)
        zf.writestr("archive/byteorder", "little")
        for key, raw in (storages or {}).items():
            zf.writestr(f"archive/data/{key}", raw)


def write_legacy(path, pkl: bytes, storages=None, numels=None) -> None:
    """A legacy file; ``numels`` overrides the element count written before each storage."""
    with open(path, "wb") as f:
        for header in LEGACY_HEADERS:
            pickle.dump(header, f, protocol=2)
        f.write(pkl)
        pickle.dump(list(storages or {}), f, protocol=2)
        for key, raw in (storages or {}).items():
            n = (numels or {}).get(key, len(raw) // 4)
            f.write(struct.pack("<q", n) + raw)


def zip_bomb(path, inflated: int) -> None:
    """One float tensor of ``inflated`` bytes of zeros, deflated (about 1000:1)."""
    numel = inflated // 4
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", state(w=tensor((numel,), (1,), numel=numel)))
        zf.writestr("archive/byteorder", "little")
        info = zipfile.ZipInfo("archive/data/0")
        info.compress_type = zipfile.ZIP_DEFLATED
        chunk = bytes(16 * 1024**2)
        with zf.open(info, "w", force_zip64=True) as member:
            for _ in range(inflated // len(chunk)):
                member.write(chunk)


def stride_trick(path, side: int = 16384) -> None:
    """A ``side`` x ``side`` float tensor with strides (0, 0) over a 4-byte storage."""
    write_zip(path, state(w=tensor((side, side), (0, 0), numel=1)), {"0": bytes(4)})


def legacy_huge(path, numel: int = 2**40) -> None:
    """A legacy file whose one storage claims ``numel`` floats and holds 24 bytes."""
    write_legacy(path, state(w=tensor((numel,), (1,), numel=numel)), {"0": bytes(24)}, {"0": numel})


def views(path, copies: int = 64, numel: int = 1024**2) -> None:
    """``copies`` different views of the same storage (every one a whole-storage copy)."""
    named = {f"w{i}": tensor((numel - i,), (1,), offset=i, numel=numel) for i in range(copies)}
    write_zip(path, state(**named), {"0": bytes(4 * numel)})

"""TensorBoard's event files, written by hand: TFRecord framing with masked CRC-32C, and the
few protobuf messages a SummaryWriter needs (Event, Summary, Summary.Value, Summary.Image,
HistogramProto, and the text plugin's TensorProto), encoded field by field.

Protobuf's wire format: each field is a key ``(number << 3) | wire_type`` as a varint, then
a varint (type 0), 8 bytes little-endian (1), a varint length and bytes (2), or 4 bytes (5).
A TFRecord is ``length (u64) · masked_crc(length) (u32) · data · masked_crc(data) (u32)``,
little-endian, with ``masked_crc(b) = rotr15(crc32c(b)) + 0xA282EAD8``.
"""

from __future__ import annotations

import struct

__all__ = ["crc32c", "event", "histogram", "image", "masked_crc", "record", "text", "value"]


def _table() -> list:
    poly, table = 0x82F63B78, []  # CRC-32C (Castagnoli), reflected
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def record(data: bytes) -> bytes:
    """One TFRecord holding ``data``."""
    length = struct.pack("<Q", len(data))
    return (
        length + struct.pack("<I", masked_crc(length)) + data + struct.pack("<I", masked_crc(data))
    )


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64s as their two's complement
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _int(number: int, v: int) -> bytes:
    return _key(number, 0) + _varint(int(v))


def _double(number: int, v: float) -> bytes:
    return _key(number, 1) + struct.pack("<d", float(v))


def _float(number: int, v: float) -> bytes:
    return _key(number, 5) + struct.pack("<f", float(v))


def _bytes(number: int, v) -> bytes:
    v = v.encode() if isinstance(v, str) else bytes(v)
    return _key(number, 2) + _varint(len(v)) + v


def _packed_doubles(number: int, values) -> bytes:
    return _bytes(number, b"".join(struct.pack("<d", float(v)) for v in values))


def image(height: int, width: int, channels: int, png: bytes) -> bytes:
    """Summary.Image: height 1, width 2, colorspace 3, encoded_image_string 4."""
    return _int(1, height) + _int(2, width) + _int(3, channels) + _bytes(4, png)


def histogram(lo, hi, num, total, squares, limits, counts) -> bytes:
    """HistogramProto: min 1, max 2, num 3, sum 4, sum_squares 5, bucket_limit 6, bucket 7."""
    head = _double(1, lo) + _double(2, hi) + _double(3, num) + _double(4, total)
    return head + _double(5, squares) + _packed_doubles(6, limits) + _packed_doubles(7, counts)


def text(s: str) -> tuple:
    """(metadata, tensor) of the text plugin: SummaryMetadata{plugin_data{plugin_name}} and a
    TensorProto of one string (dtype 7 = DT_STRING, shape [1], string_val 8)."""
    metadata = _bytes(1, _bytes(1, "text"))
    shape = _bytes(2, _int(1, 1))  # TensorShapeProto.dim{size: 1}
    return metadata, _int(1, 7) + _bytes(2, shape) + _bytes(8, s)


def value(tag: str, *, simple=None, image_msg=None, histo=None, text_parts=None) -> bytes:
    """Summary.Value: tag 1, simple_value 2, image 4, histo 5, tensor 8, metadata 9."""
    out = _bytes(1, tag)
    if simple is not None:
        out += _float(2, simple)
    if image_msg is not None:
        out += _bytes(4, image_msg)
    if histo is not None:
        out += _bytes(5, histo)
    if text_parts is not None:
        out += _bytes(9, text_parts[0]) + _bytes(8, text_parts[1])
    return out


def event(wall_time: float, step: int | None = None, *, values=(), file_version=None) -> bytes:
    """Event: wall_time 1, step 2, file_version 3, summary 5 (Summary: repeated value 1)."""
    out = _double(1, wall_time)
    if step is not None:
        out += _int(2, step)
    if file_version is not None:
        out += _bytes(3, file_version)
    if values:
        out += _bytes(5, b"".join(_bytes(1, v) for v in values))
    return out

"""Reading an ONNX file that may come from anyone: what :func:`cnnlab.onnx.load` checks
before it builds a single layer.

- The bytes must parse as a ``ModelProto`` (else one line naming the file, never protobuf's
  ``DecodeError``).
- The default-domain opset must be one cnnlab's import rules were written against
  (:data:`MIN_OPSET` to :data:`MAX_OPSET`): an op's meaning changes between opsets, so a newer
  one is refused rather than guessed.
- Tensors stored as external data are read here, not by the ``onnx`` package (whose checks
  differ between versions: 1.15-1.17 follow a symlink out of the model's folder). The
  location must be relative, resolve (symlinks followed) to a regular file inside the
  model's folder, and the offset and length must lie inside that file.
- :data:`MAX_FOLD_ELEMENTS` caps a constant that loading would compute (a tiny file with a
  ``ConstantOfShape`` of ``[20000, 20000]`` would allocate 1.6 GB): :func:`fold_size`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["MAX_FOLD_ELEMENTS", "MAX_OPSET", "MIN_OPSET", "fold_size", "read_model"]

MIN_OPSET = 7  # the oldest opset whose attribute forms the import rules handle
MAX_OPSET = 28  # the newest opset the import rules were checked against (onnx 1.23's suite)
MAX_FOLD_ELEMENTS = 1 << 24  # 16M values (64 MB of float32) per constant computed at load


def read_model(onnx, path):
    """``(ModelProto, its label for messages)`` from a path, bytes or a ``ModelProto``, with
    external data read safely and the opset checked."""
    if isinstance(path, onnx.ModelProto):
        proto, label, folder = path, "model", None
        # external data named by an in-memory model has no folder to be inside
    elif isinstance(path, (bytes, bytearray)):
        proto, label, folder = _parse(onnx, bytes(path), "bytes"), "bytes", None
    else:
        file = Path(path)
        label = str(path)
        try:
            data = file.read_bytes()
        except OSError as e:
            raise ValueError(f"load: cannot read {label}: {e.strerror or e}") from None
        proto, folder = _parse(onnx, data, label), file.resolve().parent
    _check_opset(proto, label)
    _read_external(onnx, proto, folder, label)
    return proto, label


def _parse(onnx, data: bytes, label: str):
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(data)
    except Exception as e:  # protobuf's DecodeError, or a RuntimeWarning from its C++ side
        raise ValueError(f"load: {label} is not an ONNX model ({type(e).__name__})") from None
    if not proto.graph.node and not proto.graph.output:
        raise ValueError(f"load: {label} is not an ONNX model (no graph)")
    return proto


def _check_opset(proto, label: str) -> None:
    versions = [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")]
    if not versions:
        raise ValueError(f"load: {label} has no default-domain (ai.onnx) opset")
    if not MIN_OPSET <= versions[0] <= MAX_OPSET:
        raise ValueError(
            f"load: {label} uses opset {versions[0]}; cnnlab imports opsets "
            f"{MIN_OPSET} to {MAX_OPSET}"
        )


def _tensors(graph):
    """Every TensorProto of the graph: initializers and tensor attributes, subgraphs too."""
    yield from graph.initializer
    for node in graph.node:
        for a in node.attribute:
            if a.HasField("t"):
                yield a.t
            yield from a.tensors
            if a.HasField("g"):
                yield from _tensors(a.g)
            for g in a.graphs:
                yield from _tensors(g)


def _read_external(onnx, proto, folder, label: str) -> None:
    for t in _tensors(proto.graph):
        if t.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {e.key: e.value for e in t.external_data}
        where = f"load: {label}: tensor {t.name!r} has external data"
        if folder is None:
            raise ValueError(f"{where}; load it from its file so its folder is known")
        location = info.get("location", "")
        if not location or os.path.isabs(location) or ":" in location:
            raise ValueError(f"{where} at {location!r}; expected a relative file name")
        target = (folder / location).resolve()
        if folder not in target.parents or not target.is_file():
            raise ValueError(
                f"{where} at {location!r}, which is not a regular file inside {folder}"
            )
        try:
            offset, length = int(info.get("offset", 0)), info.get("length")
        except ValueError:
            raise ValueError(f"{where} with a non-integer offset") from None
        size = target.stat().st_size
        length = size - offset if length is None else int(length)
        if offset < 0 or length < 0 or offset + length > size:
            raise ValueError(
                f"{where} at {location!r} bytes {offset}..{offset + length}, "
                f"past the file's {size} bytes"
            )
        with open(target, "rb") as f:
            f.seek(offset)
            t.raw_data = f.read(length)
        t.data_location = onnx.TensorProto.DEFAULT
        del t.external_data[:]


def fold_size(op: str, values: list) -> int:
    """How many elements folding ``op`` over constant ``values`` would make (0: no bound
    needed, the output is no bigger than its inputs)."""

    def numel(shape) -> int:
        return int(np.prod([max(int(d), 0) for d in np.asarray(shape).reshape(-1)], dtype=object))

    if op == "ConstantOfShape" and values and values[0] is not None:
        return numel(values[0])
    if op == "Expand" and len(values) > 1 and values[1] is not None:
        x, shape = np.asarray(values[0]), [int(d) for d in np.asarray(values[1]).reshape(-1)]
        n = max(len(shape), x.ndim)
        dims = [1] * (n - x.ndim) + list(x.shape)
        shape = [1] * (n - len(shape)) + shape
        return numel([max(a, b) for a, b in zip(dims, shape)])
    if op == "Tile" and len(values) > 1 and values[1] is not None:
        return np.asarray(values[0]).size * numel(values[1])
    if op == "Range" and len(values) == 3:
        start, limit, delta = (float(np.asarray(v)) for v in values)
        return int(max(np.ceil((limit - start) / delta), 0)) if delta else 0
    return 0

"""Export rules of the captioning ops: the embedding lookup (ONNX ``Gather`` of table rows)
and additive attention (``softmax(tanh(K + q) v)`` as ``Unsqueeze``, ``Add``, ``Tanh``,
``MatMul`` and ``Softmax``). Each is ``rule(builder, inputs, kwargs, output) -> ONNX value
name``, as in :data:`cnnlab.onnx.ops.EXPORTERS`, where they are listed.
"""

from __future__ import annotations

__all__ = ["CAPTION_EXPORTERS"]


def _embedding(b, args, kw, out):
    weight, indices = args
    return b.node("Gather", [b.name(weight), b.name(indices)], axis=0)[0]


def _additive_attention(b, args, kw, out):
    keys, query, v = args
    q = b.node("Unsqueeze", [b.name(query), b.ints([1])])[0]
    s = b.node("Tanh", [b.node("Add", [b.name(keys), q])[0]])[0]
    e = b.node("MatMul", [s, b.name(v)])[0]
    return b.node("Softmax", [e], axis=1)[0]


CAPTION_EXPORTERS = {"Embedding": _embedding, "AdditiveAttention": _additive_attention}

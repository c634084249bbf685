"""Embedding lookup (``torch.nn.functional.embedding``): row ``i`` of a weight table per index.

For a table W (V, E) and integer indices t of any shape, ``y[..., :] = W[t[...], :]``. The
lookup is a gather of rows, so its gradient scatters each output row's gradient back onto
the row it came from; a word that occurs several times in a batch collects the sum of its
rows' gradients (``add.at``, not plain assignment, which would keep only the last).
``padding_idx`` names a row whose gradient is always zero (PyTorch's ``<pad>`` convention):
the padding token's vector stays what it was initialised to (zeros in ``nn.Embedding``).
"""

from __future__ import annotations

from cnnlab.autograd import Function, Tensor
from cnnlab.backend import get_array_module

__all__ = ["Embedding", "embedding"]


class Embedding(Function):
    """``y = W[t]``; the indices ``t`` are an input (a graph value when exported to ONNX,
    where the lookup is a ``Gather``) without a gradient."""

    saves_inputs = False  # backward needs the indices and the table's shape only

    @staticmethod
    def forward(weight, indices, *, padding_idx):
        xp = get_array_module(weight)
        return xp.take(weight, indices, axis=0), (indices, weight.shape, padding_idx)

    # dL/dW[v] = sum of dL/dy[...] over the positions where t[...] == v (0 for padding_idx);
    # dL/dt: none (integer indices)
    @staticmethod
    def backward(ctx, g):
        indices, shape, padding_idx = ctx
        xp = get_array_module(g)
        gw = xp.zeros(shape, dtype=g.dtype)
        xp.add.at(gw, indices.reshape(-1), g.reshape(-1, shape[1]))
        if padding_idx is not None:
            gw[padding_idx] = 0
        return gw, None


def embedding(input, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input`` (see the module docstring).

    Shape: input ``(*)`` integer indices in ``[0, V)``; weight ``(V, E)``; output ``(*, E)``.
    """
    xp = get_array_module(weight.array)
    idx = input.array if isinstance(input, Tensor) else xp.asarray(input)
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (V, E), got shape {tuple(weight.shape)}")
    if idx.dtype.kind not in "iu":
        raise ValueError(f"embedding: input must hold integer indices, got dtype {idx.dtype}")
    v = weight.shape[0]
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= v):
        raise ValueError(
            f"embedding: indices must be in [0, {v}), got values in "
            f"[{int(idx.min())}, {int(idx.max())}]"
        )
    if padding_idx is not None and not -v <= padding_idx < v:
        raise ValueError(f"embedding: padding_idx must be in [-{v}, {v}), got {padding_idx}")
    pad = None if padding_idx is None else padding_idx % v
    if not isinstance(input, Tensor) or idx.dtype != xp.int64:
        input = Tensor(idx.astype(xp.int64))
    return Embedding.apply(weight, input, padding_idx=pad)

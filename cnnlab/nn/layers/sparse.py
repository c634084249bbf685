"""Embedding table: a learned vector per token (PyTorch's ``nn.Embedding``).

Initialised N(0, 1) as PyTorch does; the ``padding_idx`` row starts at zero and gets no
gradient, so a padded position feeds the next layer a zero vector throughout training.
"""

from __future__ import annotations

import numpy as np

import cnnlab.nn.functional as F
from cnnlab import backend
from cnnlab.nn import init
from cnnlab.nn.module import Module
from cnnlab.nn.parameter import Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """``y = weight[input]``.

    Shape: input (*) integer indices in [0, num_embeddings) -> output (*, embedding_dim);
    weight (num_embeddings, embedding_dim).
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        dtype=None,
    ) -> None:
        super().__init__()
        if num_embeddings < 1 or embedding_dim < 1:
            raise ValueError(
                "Embedding: num_embeddings and embedding_dim must be positive, got "
                f"{num_embeddings}, {embedding_dim}"
            )
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx must be in [-{num_embeddings}, {num_embeddings}), "
                    f"got {padding_idx}"
                )
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        dtype = np.dtype(dtype) if dtype is not None else backend.get_default_dtype()
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """N(0, 1), the padding row zero (PyTorch's default)."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.array[self.padding_idx] = 0

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s if self.padding_idx is None else s + f", padding_idx={self.padding_idx}"

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx)

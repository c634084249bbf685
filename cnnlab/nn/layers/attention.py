"""Soft (additive) attention over a set of feature vectors: Show, Attend and Tell's f_att.

Xu et al. (2015) score each image location l for the decoder state h with a small MLP,
``e_l = v^T tanh(W_f f_l + W_h h + b)``, take ``alpha = softmax(e)`` over the locations and
feed the decoder the context ``z = sum_l alpha_l f_l``. The projection of the features
``W_f f`` does not change while one caption is decoded: :meth:`AdditiveAttention.keys`
computes it once and :meth:`forward` takes it back at every step.
"""

from __future__ import annotations

import math

import numpy as np

import cnnlab.nn.functional as F
from cnnlab import backend
from cnnlab.nn import init
from cnnlab.nn.layers.linear import Linear
from cnnlab.nn.module import Module
from cnnlab.nn.parameter import Parameter

__all__ = ["AdditiveAttention"]


class AdditiveAttention(Module):
    """Additive attention of a query (decoder state) over L feature vectors.

    Returns ``(context, alpha)``.

    Shape: features (N, L, feature_size), query (N, query_size) -> context
    (N, feature_size), alpha (N, L) (each row sums to 1).
    """

    def __init__(self, feature_size: int, query_size: int, attention_size: int, dtype=None) -> None:
        super().__init__()
        if min(feature_size, query_size, attention_size) < 1:
            raise ValueError(
                "AdditiveAttention: feature_size, query_size and attention_size must be "
                f"positive, got {feature_size}, {query_size}, {attention_size}"
            )
        self.feature_size, self.query_size = feature_size, query_size
        self.attention_size = attention_size
        self.key = Linear(feature_size, attention_size, bias=False, dtype=dtype)
        self.query = Linear(query_size, attention_size, dtype=dtype)
        dtype = np.dtype(dtype) if dtype is not None else backend.get_default_dtype()
        self.v = Parameter(np.empty(attention_size, dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The projections as ``nn.Linear``; ``v`` U(±1/sqrt(attention_size))."""
        bound = 1 / math.sqrt(self.attention_size)
        init.uniform_(self.v, -bound, bound)

    def extra_repr(self) -> str:
        return f"{self.feature_size}, {self.query_size}, attention_size={self.attention_size}"

    def keys(self, features):
        """``W_f f`` for every location, computed once per image set.

        Shape: (N, L, feature_size) -> (N, L, attention_size)."""
        return self.key(features)

    def forward(self, features, query, keys=None):
        if features.ndim != 3 or features.shape[2] != self.feature_size:
            raise ValueError(
                f"AdditiveAttention: expected features (N, L, {self.feature_size}), got "
                f"{tuple(features.shape)}"
            )
        keys = self.keys(features) if keys is None else keys
        alpha = F.additive_attention(keys, self.query(query), self.v)
        context = (alpha.unsqueeze(2) * features).sum(1)
        return context, alpha

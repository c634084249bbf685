"""Additive (Bahdanau) attention weights, the soft attention of Show, Attend and Tell.

For keys K (N, L, A) (the L image locations, already projected to the attention size A),
a query q (N, A) (the decoder's state, projected) and a vector v (A,):

    s = tanh(K + q)          (N, L, A)  q broadcast over the locations
    e = s v                  (N, L)     one score per location
    alpha = softmax(e)       (N, L)     over the locations; each row sums to 1

The weights alpha are the op's output (the "attention map" a captioner shows per word); the
context vector sum_l alpha_l f_l over the image features is a product outside the op. One
fused op rather than four: the forward keeps only s and alpha, and the backward below is
the whole chain in a few lines.
"""

from __future__ import annotations

from cnnlab.autograd import Function, Tensor
from cnnlab.backend import get_array_module

__all__ = ["AdditiveAttention", "additive_attention"]


class AdditiveAttention(Function):
    @staticmethod
    def forward(keys, query, v):
        xp = get_array_module(keys, query, v)
        s = xp.tanh(keys + query[:, None, :])
        e = s @ v
        e = e - e.max(axis=1, keepdims=True)
        alpha = xp.exp(e)
        alpha /= alpha.sum(axis=1, keepdims=True)
        return alpha, (s, alpha, v)

    # dL/de = alpha * (g - sum_l alpha_l g_l)            (softmax)
    # dL/dz = (dL/de v^T) * (1 - s^2), z = K + q         (tanh)
    # dL/dK = dL/dz, dL/dq = sum_l dL/dz, dL/dv = sum_{n,l} dL/de[n, l] s[n, l, :]
    @staticmethod
    def backward(ctx, g):
        s, alpha, v = ctx
        de = alpha * (g - (alpha * g).sum(axis=1, keepdims=True))
        dz = de[..., None] * v * (1.0 - s * s)
        gv = (de[..., None] * s).sum(axis=(0, 1))
        return dz, dz.sum(axis=1), gv


def additive_attention(keys: Tensor, query: Tensor, v: Tensor) -> Tensor:
    """``softmax(tanh(keys + query) v)`` over the locations (see the module docstring).

    Shape: keys ``(N, L, A)``, query ``(N, A)``, v ``(A,)``; output ``(N, L)``.
    """
    if keys.ndim != 3 or query.ndim != 2 or v.ndim != 1:
        raise ValueError(
            "additive_attention: expected keys (N, L, A), query (N, A), v (A,), got "
            f"{tuple(keys.shape)}, {tuple(query.shape)}, {tuple(v.shape)}"
        )
    n, _, a = keys.shape
    if tuple(query.shape) != (n, a) or v.shape[0] != a:
        raise ValueError(
            f"additive_attention: query must be ({n}, {a}) and v ({a},) for keys "
            f"{tuple(keys.shape)}, got {tuple(query.shape)} and {tuple(v.shape)}"
        )
    return AdditiveAttention.apply(keys, query, v)

"""The PyTorch-style functional API (``import cnnlab.nn.functional as F``).

Thin by design: each name is an op from ``cnnlab.ops`` or a short composite of ops.
"""

import numpy as np

from cnnlab.autograd import Tensor
from cnnlab.backend import get_array_module
from cnnlab.ops.activation import (  # noqa: F401
    elu,
    gelu,
    hardtanh,
    leaky_relu,
    log_softmax,
    prelu,
    relu,
    relu6,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from cnnlab.ops.adaptive_pool import adaptive_avg_pool2d, adaptive_max_pool2d  # noqa: F401
from cnnlab.ops.attention import additive_attention  # noqa: F401
from cnnlab.ops.conv import conv1d, conv2d, conv_transpose2d  # noqa: F401
from cnnlab.ops.dice import dice_loss  # noqa: F401
from cnnlab.ops.embedding import embedding  # noqa: F401
from cnnlab.ops.focal import gaussian_focal_loss  # noqa: F401
from cnnlab.ops.loss import (  # noqa: F401
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)
from cnnlab.ops.misc import dropout, dropout2d, interpolate, linear  # noqa: F401
from cnnlab.ops.norm import (  # noqa: F401
    batch_norm,
    instance_norm,
    layer_norm,
    local_response_norm,
)
from cnnlab.ops.pool import (  # noqa: F401
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
    max_unpool2d,
)
from cnnlab.ops.recurrent import (  # noqa: F401
    gru,
    gru_cell,
    gru_layer,
    lstm,
    lstm_cell,
    lstm_layer,
    recurrent,
    rnn,
    rnn_cell,
    rnn_layer,
)
from cnnlab.ops.reduce import norm
from cnnlab.ops.shape import flatten, pad  # noqa: F401


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices as one-hot rows: int64, shape ``(*tensor.shape, num_classes)``;
    ``num_classes=-1`` takes ``max + 1``, as PyTorch.

    Shape: any integer tensor ``(*)``; output ``(*, num_classes)``.
    """
    idx = tensor.array
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer (class index) tensor, got {idx.dtype}")
    if idx.size and idx.min() < 0:
        raise ValueError(f"one_hot: class indices must be >= 0, got {int(idx.min())}")
    n = int(idx.max()) + 1 if num_classes == -1 and idx.size else num_classes
    if n < 0 or (idx.size and int(idx.max()) >= n):
        raise ValueError(f"one_hot: class index {int(idx.max())} is out of range for {n} classes")
    xp = get_array_module(idx)
    return Tensor._make((idx[..., None] == xp.arange(n)).astype(np.int64), False)


def upsample(input: Tensor, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """The layer ``nn.Upsample`` as a function (PyTorch's older name of :func:`interpolate`)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``input / max(||input||_p over dim, eps)``: unit-length vectors along ``dim``.

    Shape: any; output has the input's shape.
    """
    return input / norm(input, p=p, dim=dim, keepdim=True).clamp(min=eps)


def binary_cross_entropy(input: Tensor, target, weight=None, reduction: str = "mean") -> Tensor:
    """``-(t log p + (1 - t) log(1 - p))`` on probabilities ``p`` (each log clamped at -100,
    as PyTorch); prefer :func:`binary_cross_entropy_with_logits` on logits.

    Shape: input and target alike; output a scalar, or the input's shape with 'none'.
    """
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"binary_cross_entropy: unknown reduction {reduction!r}")
    t = target if isinstance(target, Tensor) else Tensor(target)
    if tuple(t.shape) != tuple(input.shape):
        raise ValueError(
            f"binary_cross_entropy: target shape {tuple(t.shape)} differs from input "
            f"shape {tuple(input.shape)}"
        )
    loss = -(t * input.log().clamp(min=-100) + (1 - t) * (1 - input).log().clamp(min=-100))
    if weight is not None:
        loss = loss * weight
    return loss if reduction == "none" else loss.sum() if reduction == "sum" else loss.mean()


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``x1 . x2 / max(||x1|| ||x2||, eps)`` along ``dim`` (the inputs broadcast).

    Shape: ``x1`` and ``x2`` broadcastable; output drops ``dim``.
    """
    shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    x1, x2 = x1.expand(shape), x2.expand(shape)  # the norms are of the broadcast inputs
    dot = (x1 * x2).sum(dim)
    n1 = norm(x1, p=2, dim=dim)
    n2 = norm(x2, p=2, dim=dim)
    return dot / (n1 * n2).clamp(min=eps)

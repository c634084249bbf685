"""Soft Dice loss for segmentation: a composite of softmax, products and sums (no backward of
its own; autograd differentiates the composite).

For logits x (N, C, d1, ...) and class indices t, with p = softmax(x, 1) and y the one-hot of
t (both zeroed where t is ``ignore_index``), class c's soft Dice coefficient over the whole
batch is

    D_c = (2 sum(p_c y_c) + smooth) / (sum(p_c) + sum(y_c) + smooth)

and the loss of class c is 1 - D_c (Milletari et al., 2016, V-Net; summed over the batch as
segmentation_models.pytorch's ``DiceLoss``). Unlike cross-entropy it weighs each class by its
overlap, not by its pixel count, so small objects on a large background count as much as
the background. ``smooth`` keeps a class absent from both prediction and target at loss 0.
"""

from __future__ import annotations

from cnnlab.autograd import Tensor
from cnnlab.backend import get_array_module
from cnnlab.ops.activation import softmax
from cnnlab.ops.loss import _check_class_target, _reduce_tensor

__all__ = ["dice_loss"]


def dice_loss(
    input: Tensor,
    target,
    ignore_index: int = -100,
    smooth: float = 1.0,
    reduction: str = "mean",
) -> Tensor:
    """Soft multi-class Dice loss of logits against class indices (see the module docstring).

    Shape: input ``(N, C, d1, ...)`` logits; target ``(N, d1, ...)`` integer class indices;
    output a scalar (the mean or sum over classes), or ``(C,)`` per class with
    ``reduction='none'``.
    """
    if input.ndim < 2:
        raise ValueError(f"dice_loss: expected input of shape (N, C, ...), got {input.shape}")
    if smooth < 0:
        raise ValueError(f"dice_loss: smooth must be >= 0, got {smooth}")
    t, _, c = _check_class_target("dice_loss", input, target, None, ignore_index, reduction)
    xp = get_array_module(input.array)
    valid = t != ignore_index
    onehot = xp.eye(c, dtype=input.dtype)[xp.where(valid, t, 0)] * valid[..., None]
    onehot = xp.moveaxis(onehot, -1, 1)  # (N, C, d1, ...)
    keep = xp.expand_dims(valid, 1).astype(input.dtype)
    p = softmax(input, 1) * Tensor(keep)
    dims = (0, *range(2, input.ndim))
    inter = (p * Tensor(onehot)).sum(dims)
    card = p.sum(dims) + Tensor(onehot.sum(axis=dims))
    loss = 1.0 - (inter * 2.0 + smooth) / (card + smooth)
    return _reduce_tensor("dice_loss", loss, reduction)

"""Loss layers: CrossEntropyLoss, NLLLoss, MSELoss, BCELoss, BCEWithLogitsLoss, DiceLoss
(wrappers over F)."""

from __future__ import annotations

import cnnlab.nn.functional as F
from cnnlab.nn.module import Module

__all__ = ["BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "DiceLoss", "MSELoss", "NLLLoss"]


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(
                f"{self._get_name()}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}"
            )
        self.reduction = reduction

    def _weight_buffer(self, name: str, w) -> None:
        # A class weight is a buffer (saved in state_dict, converted by .to()), as in torch.
        self.register_buffer(name, w)


class CrossEntropyLoss(_Loss):
    """``nll_loss(log_softmax(input, 1), target)``.

    Shape: input (N, C) or (N, C, d1, ...) logits; target (N,) or (N, d1, ...) class indices
    -> scalar (or per-sample with reduction='none').
    """

    def __init__(
        self,
        weight=None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction)
        self._weight_buffer("weight", weight)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities.

    Shape: input (N, C) log-probabilities; target (N,) class indices -> scalar.
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self._weight_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(
            input,
            target,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )


class MSELoss(_Loss):
    """Mean squared error. Shape: input and target of the same shape -> scalar."""

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities (``F.binary_cross_entropy``; each log clamped at
    -100, as PyTorch), with an optional per-element ``weight``: the DCGAN tutorial's loss.

    Shape: input (probabilities) and target of the same shape -> scalar.
    """

    def __init__(self, weight=None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self._weight_buffer("weight", weight)

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy, computed stably from logits.

    Shape: input and target of the same shape -> scalar.
    """

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None) -> None:
        super().__init__(reduction)
        self._weight_buffer("weight", weight)
        self._weight_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(
            input, target, weight=self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )


class DiceLoss(_Loss):
    """Soft multi-class Dice loss of logits (``F.dice_loss``): 1 - Dice per class, averaged
    over classes (summed with reduction='sum', per class with 'none').

    Shape: input (N, C, d1, ...) logits; target (N, d1, ...) class indices -> scalar.
    """

    def __init__(self, ignore_index: int = -100, smooth: float = 1.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.ignore_index = ignore_index
        self.smooth = float(smooth)

    def extra_repr(self) -> str:
        return f"smooth={self.smooth}, reduction={self.reduction!r}"

    def forward(self, input, target):
        return F.dice_loss(
            input, target, ignore_index=self.ignore_index, smooth=self.smooth,
            reduction=self.reduction,
        )  # fmt: skip

"""Adagrad (Duchi et al., 2011), step for step as ``torch.optim.Adagrad``."""

from __future__ import annotations

from cnnlab import backend
from cnnlab.optim.optimizer import Optimizer, check_range

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad: per-coordinate steps shrinking with the sum of all squared gradients so far.

    For each parameter with a gradient ``g`` (``-g`` when ``maximize``), at step ``t``::

        g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g                                  # sum, starts at initial_accumulator_value
        p = p - clr * g / (sqrt(s) + eps)

    Args:
        params: iterable of Tensors or of param-group dicts.
        lr: learning rate (>= 0).
        lr_decay: learning-rate decay per step (>= 0).
        weight_decay: L2 penalty (>= 0).
        initial_accumulator_value: the sum's starting value (>= 0).
        eps: added to the denominator (>= 0).
        maximize: ascend the objective instead of descending it.

    State per parameter (made when the optimiser is built, as in PyTorch): ``'step'``,
    ``'sum'``.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        foreach=None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused=None,
    ) -> None:
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            maximize=maximize,
        )
        self._check_group(defaults)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = self._init_state(p, group)

    def _init_state(self, p, group: dict) -> dict:
        xp = backend.get_array_module(p.array)
        init = float(group["initial_accumulator_value"])
        return {"step": 0.0, "sum": xp.full_like(p.array, init)}

    def _check_group(self, group: dict) -> None:
        for key in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_range("Adagrad", group, key)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = float(group["lr"]), float(group["lr_decay"]), float(group["eps"])
            for p, g, state in self._gradients(group):
                xp = backend.get_array_module(p.array)
                state["step"] += 1.0
                clr = lr / (1 + (state["step"] - 1) * lr_decay)
                s = state["sum"]
                s += g * g
                p.array -= clr * g / (xp.sqrt(s) + eps)
        return loss

"""Adadelta (Zeiler, 2012), step for step as ``torch.optim.Adadelta``."""

from __future__ import annotations

from cnnlab import backend
from cnnlab.optim.optimizer import Optimizer, check_range

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta: per-coordinate steps from running averages of squared gradients and
    squared updates, scaled by ``lr`` (PyTorch's form; the paper's is ``lr = 1``).

    For each parameter with a gradient ``g`` (``-g`` when ``maximize``)::

        g = g + weight_decay * p
        v = rho * v + (1 - rho) * g * g                  # square_avg
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta          # acc_delta
        p = p - lr * delta

    Args:
        params: iterable of Tensors or of param-group dicts.
        lr: scale of the update (>= 0).
        rho: decay of the running averages, in [0, 1].
        eps: added inside both square roots (>= 0).
        weight_decay: L2 penalty (>= 0).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``'step'``, ``'square_avg'``, ``'acc_delta'``.
    """

    def __init__(
        self,
        params,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        foreach=None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        self._check_group(defaults)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        for key in ("lr", "eps", "weight_decay"):
            check_range("Adadelta", group, key)
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Adadelta: invalid rho value: {group['rho']} (expected in [0, 1])")

    def _init_state(self, p, group: dict) -> dict:
        xp = backend.get_array_module(p.array)
        return {
            "step": 0.0,
            "square_avg": xp.zeros_like(p.array),
            "acc_delta": xp.zeros_like(p.array),
        }

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
            for p, g, state in self._gradients(group):
                xp = backend.get_array_module(p.array)
                state["step"] += 1.0
                v, u = state["square_avg"], state["acc_delta"]
                v *= rho
                v += (1 - rho) * g * g
                delta = xp.sqrt(u + eps) / xp.sqrt(v + eps) * g
                u *= rho
                u += (1 - rho) * delta * delta
                p.array -= lr * delta
        return loss

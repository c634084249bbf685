"""RMSprop (Hinton's lecture 6e), step for step as ``torch.optim.RMSprop``."""

from __future__ import annotations

from cnnlab import backend
from cnnlab.optim.adam import _lerp_
from cnnlab.optim.optimizer import Optimizer, check_range

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop: divide the gradient by a running root mean square of recent gradients.

    For each parameter with a gradient ``g`` (``-g`` when ``maximize``)::

        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g                 # square_avg
        m = alpha * m + (1 - alpha) * g                     # grad_avg, centered only
        avg = sqrt(v - m * m) if centered else sqrt(v)
        avg = avg + eps                                     # eps outside the root
        buf = momentum * buf + g / avg;  p = p - lr * buf   # momentum > 0
        p = p - lr * g / avg                                # otherwise

    Args:
        params: iterable of Tensors or of param-group dicts.
        lr: learning rate (>= 0).
        alpha: smoothing constant of the square average (>= 0).
        eps: added to the denominator (>= 0).
        weight_decay: L2 penalty (>= 0).
        momentum: momentum factor (>= 0).
        centered: normalise by the estimated variance instead of the second moment.
        maximize: ascend the objective instead of descending it.

    State per parameter: ``'step'``, ``'square_avg'``, and ``'momentum_buffer'`` (momentum
    > 0), ``'grad_avg'`` (centered).
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        capturable: bool = False,
        foreach=None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        self._check_group(defaults)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        for key in ("lr", "eps", "momentum", "weight_decay", "alpha"):
            check_range("RMSprop", group, key)

    def _init_state(self, p, group: dict) -> dict:
        xp = backend.get_array_module(p.array)
        state = {"step": 0.0, "square_avg": xp.zeros_like(p.array)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = xp.zeros_like(p.array)
        if group["centered"]:
            state["grad_avg"] = xp.zeros_like(p.array)
        return state

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
            momentum = float(group["momentum"])
            for p, g, state in self._gradients(group):
                a = p.array
                xp = backend.get_array_module(a)
                state["step"] += 1.0
                v = state["square_avg"]
                v *= alpha
                v += (1 - alpha) * g * g
                if group["centered"]:
                    m = state["grad_avg"]
                    _lerp_(m, g, 1 - alpha)
                    avg = xp.sqrt(v - m * m) + eps
                else:
                    avg = xp.sqrt(v) + eps
                if momentum > 0:
                    buf = state["momentum_buffer"]
                    buf *= momentum
                    buf += g / avg
                    a -= lr * buf
                else:
                    a -= lr * g / avg
        return loss

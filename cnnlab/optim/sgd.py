"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from cnnlab.optim.optimizer import Optimizer, check_range

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, step for step as ``torch.optim.SGD``.

    For each parameter with a gradient ``g`` (``-g`` when ``maximize``)::

        g = g + weight_decay * p                       # L2 penalty, if weight_decay != 0
        buf = g                          (first step)  # no dampening on the first step
        buf = momentum * buf + (1 - dampening) * g     # later steps, if momentum != 0
        g = g + momentum * buf  if nesterov else buf
        p = p - lr * g

    The lectures' moving-average momentum ``m = mu * m + (1 - mu) * g`` is
    ``SGD(params, lr, momentum=mu, dampening=mu)`` (except that PyTorch starts the buffer
    at ``g``, not at ``(1 - mu) * g``). The default ``dampening=0`` is the "heavy ball"
    ``m = mu * m + g``, whose steps are ``1 / (1 - mu)`` times larger.

    Args:
        params: iterable of Tensors or of param-group dicts.
        lr: learning rate (>= 0).
        momentum: momentum factor ``mu`` (>= 0).
        dampening: dampening for momentum.
        weight_decay: L2 penalty coefficient (>= 0).
        nesterov: Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``'momentum_buffer'`` (only when ``momentum != 0``).
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        self._check_group(defaults)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        for key in ("lr", "momentum", "weight_decay"):
            check_range("SGD", group, key)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "SGD: Nesterov momentum requires a momentum and zero dampening, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}"
            )

    def _init_state(self, p, group: dict) -> dict | None:
        # as PyTorch: only momentum keeps state (its buffer, made from the first gradient)
        return {} if group["momentum"] != 0 else None

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, momentum = float(group["lr"]), float(group["momentum"])
            dampening = float(group["dampening"])
            for p, g, state in self._gradients(group):
                if momentum != 0:
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = g.copy()
                    else:
                        buf *= momentum
                        if dampening == 0:
                            buf += g
                        else:
                            buf += (1 - dampening) * g
                    g = g + momentum * buf if group["nesterov"] else buf
                p.array -= lr * g
        return loss

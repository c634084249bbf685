"""NAdam (Dozat, 2016): Adam with Nesterov momentum, step for step as ``torch.optim.NAdam``."""

from __future__ import annotations

import numpy as np

from cnnlab import backend
from cnnlab.optim.adam import _lerp_
from cnnlab.optim.optimizer import Optimizer, check_betas, check_range

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam with PyTorch's momentum schedule ``mu_t = beta1 * (1 - 0.5 * 0.96**(t * psi))``.

    For each parameter with a gradient ``g`` (``-g`` when ``maximize``), at step ``t``::

        g = g + weight_decay * p            # or p = p * (1 - lr * weight_decay) (decoupled)
        mu, mu_next = mu_t, mu_{t+1};  prod = prod * mu       # mu_product
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        denom = sqrt(v / (1 - beta2**t)) + eps
        p = p - lr * (1 - mu) / (1 - prod) * g / denom
              - lr * mu_next / (1 - prod * mu_next) * m / denom

    Args:
        params: iterable of Tensors or of param-group dicts.
        lr: learning rate (>= 0).
        betas: ``(beta1, beta2)``, each in [0, 1).
        eps: added to the denominator (>= 0).
        weight_decay: L2 penalty, or decoupled decay with ``decoupled_weight_decay``.
        momentum_decay: ``psi`` of the momentum schedule (>= 0).
        decoupled_weight_decay: decay the weights directly (NAdamW).
        maximize: ascend the objective instead of descending it.

    State per parameter: ``'step'``, ``'mu_product'``, ``'exp_avg'``, ``'exp_avg_sq'``.
    """

    def __init__(
        self,
        params,
        lr: float = 2e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach=None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )
        self._check_group(defaults)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        for key in ("lr", "eps", "weight_decay", "momentum_decay"):
            check_range("NAdam", group, key)
        check_betas("NAdam", group)

    def _init_state(self, p, group: dict) -> dict:
        xp = backend.get_array_module(p.array)
        zeros = xp.zeros_like
        return {
            "step": 0.0,
            "mu_product": 1.0,
            "exp_avg": zeros(p.array),
            "exp_avg_sq": zeros(p.array),
        }

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = (float(b) for b in group["betas"])
            lr, eps, psi = float(group["lr"]), float(group["eps"]), float(group["momentum_decay"])
            for p, g, state in self._gradients(group):
                a = p.array
                xp = backend.get_array_module(a)
                state["step"] += 1.0
                t = state["step"]
                mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
                mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
                # PyTorch keeps mu_product in a float32 scalar tensor: the same rounding here
                state["mu_product"] = float(np.float32(state["mu_product"]) * np.float32(mu))
                prod = state["mu_product"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                _lerp_(m, g, 1 - beta1)
                v *= beta2
                v += (1 - beta2) * g * g
                denom = xp.sqrt(v / (1 - beta2**t)) + eps
                a -= lr * (1 - mu) / (1 - prod) * g / denom
                a -= lr * mu_next / (1 - prod * mu_next) * m / denom
        return loss

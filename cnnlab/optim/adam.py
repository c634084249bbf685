"""Adam and AdamW (decoupled weight decay), step for step as PyTorch."""

from __future__ import annotations

from cnnlab import backend
from cnnlab.optim.optimizer import Optimizer, check_betas, check_range

__all__ = ["Adam", "AdamW"]


def _lerp_(a, b, w: float) -> None:
    """``a += w * (b - a)`` in place, in the two forms PyTorch's lerp kernel uses."""
    if abs(w) < 0.5:
        a += w * (b - a)
    else:
        a[...] = b - (b - a) * (1 - w)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), step for step as ``torch.optim.Adam``.

    For each parameter with a gradient ``g`` (``-g`` when ``maximize``), at step ``t``::

        g = g + weight_decay * p              # L2 penalty (Adam); AdamW instead does
                                              #   p = p * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)                 # amsgrad only; then v_max replaces v below
        denom = sqrt(v) / sqrt(1 - beta2**t) + eps
        p = p - lr / (1 - beta1**t) * m / denom

    ``eps`` is added *after* the bias-corrected square root, as in PyTorch.

    Args:
        params: iterable of Tensors or of param-group dicts.
        lr: learning rate (>= 0).
        betas: decay rates ``(beta1, beta2)`` of the two moment estimates, each in [0, 1).
        eps: added to the denominator for numerical stability (>= 0).
        weight_decay: L2 penalty (or decoupled decay with ``decoupled_weight_decay``).
        amsgrad: use the running maximum of ``v`` (Reddi et al., 2018).
        maximize: ascend the objective instead of descending it.
        decoupled_weight_decay: decay the weights directly, as AdamW.

    State per parameter: ``'step'`` (float), ``'exp_avg'``, ``'exp_avg_sq'`` and, with
    amsgrad, ``'max_exp_avg_sq'``.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        self._check_group(defaults)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        name = type(self).__name__
        for key in ("lr", "eps", "weight_decay"):
            check_range(name, group, key)
        check_betas(name, group)

    def _init_state(self, p, group: dict) -> dict:
        xp = backend.get_array_module(p.array)
        state = {
            "step": 0.0,
            "exp_avg": xp.zeros_like(p.array),
            "exp_avg_sq": xp.zeros_like(p.array),
        }
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = xp.zeros_like(p.array)
        return state

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            beta1, beta2 = (float(b) for b in group["betas"])
            lr, eps = float(group["lr"]), float(group["eps"])
            for p, g, state in self._gradients(group):
                xp = backend.get_array_module(p.array)
                state["step"] += 1.0
                step = state["step"]
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                _lerp_(exp_avg, g, 1 - beta1)
                exp_avg_sq *= beta2
                exp_avg_sq += (1 - beta2) * g * g
                step_size = lr / (1 - beta1**step)
                bias_correction2_sqrt = (1 - beta2**step) ** 0.5
                if group["amsgrad"]:
                    v = state["max_exp_avg_sq"]
                    xp.maximum(v, exp_avg_sq, out=v)
                else:
                    v = exp_avg_sq
                denom = xp.sqrt(v) / bias_correction2_sqrt + eps
                p.array += -step_size * exp_avg / denom
        return loss


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``.

    Identical to :class:`Adam` except that weight decay shrinks the weights directly,
    ``p = p * (1 - lr * weight_decay)``, before the Adam update instead of adding
    ``weight_decay * p`` to the gradient; the default ``weight_decay`` is ``1e-2``.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )

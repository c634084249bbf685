"""cnnlab's own initialisation for the zoo's networks (He et al., 2015).

The layers themselves initialise as PyTorch's do (``Linear``/``Conv*``: kaiming-uniform with
``a = sqrt(5)``, bias uniform in ``±1/sqrt(fan_in)``), so a ported PyTorch program trains as
it did. The zoo's ReLU networks were tuned with He-normal weights and zero biases; they ask
for it explicitly through :func:`he_init_`, which is what the layers did by default before.
"""

from __future__ import annotations

from cnnlab import nn
from cnnlab.nn import init
from cnnlab.nn.layers.conv import _ConvNd

__all__ = ["he_init_"]


def he_init_(module: nn.Module) -> nn.Module:
    """Every Conv/ConvTranspose/Linear weight in ``module`` from N(0, 2 / fan_in), biases zero,
    in ``module.modules()`` order; other layers unchanged. Returns ``module``."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, _ConvNd)):
            init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                init.zeros_(m.bias)
    return module

"""cnnlab's own initialisation for the zoo's networks (He et al., 2015).

The layers themselves initialise as PyTorch's do (``Linear``/``Conv*``: kaiming-uniform with
``a = sqrt(5)``, bias uniform in ``±1/sqrt(fan_in)``), so a ported PyTorch program trains as
it did. The zoo's ReLU networks were tuned with He-normal weights and zero biases, the layers'
default before; they ask for it explicitly: ``@he_initialised`` on a constructor builds its
layers inside ``nn.init.layer_init(he_layer_)``, which draws exactly what the old default drew,
so a seeded model is the same, weight for weight, as before the layers' default changed.
"""

from __future__ import annotations

import functools

from cnnlab import nn
from cnnlab.nn import init
from cnnlab.nn.layers.conv import _ConvNd

__all__ = ["he_init_", "he_initialised", "he_layer_"]


def he_layer_(layer) -> None:
    """One Linear/Conv layer: weight from N(0, 2 / fan_in), bias zero."""
    init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
    if layer.bias is not None:
        init.zeros_(layer.bias)


def he_initialised(build):
    """Decorator: the Linear/Conv layers ``build`` (a constructor or factory) makes are
    He-initialised (:func:`he_layer_`) as they are made."""

    @functools.wraps(build)
    def wrapper(*args, **kwargs):
        with init.layer_init(he_layer_):
            return build(*args, **kwargs)

    return wrapper


def he_init_(module: nn.Module) -> nn.Module:
    """Re-draw every Conv/ConvTranspose/Linear layer of a built ``module`` with
    :func:`he_layer_`, in ``module.modules()`` order. Returns ``module``."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, _ConvNd)):
            he_layer_(m)
    return module

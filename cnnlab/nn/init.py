"""Weight initialisation (PyTorch's ``torch.nn.init`` names and formulas).

Every function fills ``tensor.array`` in place (a Tensor, Parameter or raw array), records no
graph, and returns ``tensor``. Random draws come from :func:`cnnlab.backend.default_rng`, so
``cnnlab.manual_seed(s)`` makes initialisation reproducible.
"""

from __future__ import annotations

import math
import threading
from contextlib import contextmanager

import numpy as np

from cnnlab import backend
from cnnlab.autograd import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "layer_init",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]


def _array(tensor):
    return tensor.array if isinstance(tensor, Tensor) else tensor


def _fill(tensor, values):
    """Write host ``values`` into the tensor's array in place (cast, moved to its device)."""
    a = _array(tensor)
    xp = backend.get_array_module(a)
    a[...] = xp.asarray(np.asarray(values).astype(a.dtype, copy=False))
    return tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity: 1 for linear/conv/sigmoid, 5/3 for tanh,
    sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu (slope ``param``, default 0.01)."""
    linear = (
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "sigmoid",
    )
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor) -> tuple[int, int]:
    """``fan_in = shape[1] * prod(shape[2:])``, ``fan_out = shape[0] * prod(shape[2:])``
    (a Linear weight is (out, in); a Conv weight is (out, in/groups, kh, kw))."""
    shape = _array(tensor).shape
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out need a tensor with at least 2 dimensions, got shape {shape}"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fan(tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a: float = 0.0, b: float = 1.0):
    """Fill with U(a, b)."""
    return _fill(tensor, backend.default_rng().uniform(a, b, _array(tensor).shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0):
    """Fill with N(mean, std^2)."""
    return _fill(tensor, backend.default_rng().normal(mean, std, _array(tensor).shape))


def constant_(tensor, val: float):
    _array(tensor)[...] = val
    return tensor


def zeros_(tensor):
    return constant_(tensor, 0)


def ones_(tensor):
    return constant_(tensor, 1)


def xavier_uniform_(tensor, gain: float = 1.0):
    """Glorot: U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a)


def xavier_normal_(tensor, gain: float = 1.0):
    """Glorot: N(0, std^2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"):
    """He: U(-b, b), ``b = gain * sqrt(3 / fan)``, ``gain = calculate_gain(nonlinearity, a)``."""
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"):
    """He: N(0, std^2) with ``std = gain / sqrt(fan)``; with the defaults (a=0) the gain is
    sqrt(2), so std = sqrt(2 / fan_in): what the zoo's networks use (``models.he_init``)."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std)


_layer_init = threading.local()  # this thread's override of the layers' default init


@contextmanager
def layer_init(fn):
    """Inside the block, ``Linear`` and ``Conv*`` layers built in this thread initialise with
    ``fn(layer)`` instead of PyTorch's default (used by the zoo for He: ``models.he_init``).
    The layers draw nothing else, so a seeded build draws exactly what ``fn`` draws."""
    previous = getattr(_layer_init, "fn", None)
    _layer_init.fn = fn
    try:
        yield
    finally:
        _layer_init.fn = previous


def layer_init_override():
    """The function set by the innermost :func:`layer_init` block, or None."""
    return getattr(_layer_init, "fn", None)

"""cnnlab: a convolutional-neural-network framework written from first principles on NumPy."""

from cnnlab.autograd import (
    Function,
    Tensor,
    enable_grad,
    grad,
    is_grad_enabled,
    no_grad,
    override_backward,
    tensor,
)
from cnnlab.backend import get_array_module, get_default_dtype, manual_seed, set_default_dtype
from cnnlab.creation import arange, from_numpy, ones, ones_like, rand, randn, zeros, zeros_like
from cnnlab.gradcheck import gradcheck
from cnnlab.kernels import set_kernels
from cnnlab.ops.elementwise import Where as _Where
from cnnlab.ops.shape import cat, flatten, pad, stack
from cnnlab.threads import get_num_threads, set_num_threads

__version__ = "0.1.0"


def where(cond, a, b) -> Tensor:
    """Elementwise ``a if cond else b``; gradients flow to ``a`` and ``b``."""
    c = cond.data if isinstance(cond, Tensor) else cond
    return _Where.apply(c, a, b)


def __getattr__(name: str):
    """``cnnlab.summary`` and ``cnnlab.receptive_field``, imported on first use."""
    if name in ("summary", "receptive_field"):
        from cnnlab import inspect

        return getattr(inspect, name)
    raise AttributeError(f"module 'cnnlab' has no attribute {name!r}")


__all__ = [
    "Function",
    "Tensor",
    "arange",
    "cat",
    "enable_grad",
    "flatten",
    "from_numpy",
    "get_array_module",
    "get_default_dtype",
    "get_num_threads",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "manual_seed",
    "no_grad",
    "ones",
    "ones_like",
    "override_backward",
    "pad",
    "rand",
    "receptive_field",
    "randn",
    "set_default_dtype",
    "set_kernels",
    "set_num_threads",
    "stack",
    "summary",
    "tensor",
    "where",
    "zeros",
    "zeros_like",
]

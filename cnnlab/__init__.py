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
from cnnlab.dtypes import DTYPES as _DTYPES  # cnnlab.float32 ... via __getattr__
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


# Subpackages loaded on first use (``cnnlab.nn``, ``cnnlab.models`` ...), so that
# ``import cnnlab`` stays fast and pulls in neither SciPy nor Matplotlib. To add a
# subpackage, add its name here; a name whose package is not in this copy raises a
# clear AttributeError and is left out of ``dir(cnnlab)``.
_LAZY_SUBPACKAGES = (
    "nn",
    "optim",
    "models",
    "data",
    "train",
    "io",
    "explain",
    "attacks",
    "inspect",
    "images",
    "onnx",
    "kernels",
    "experiments",
    "distributed",
    "transfer",
    "gan",
    "utils",
    "vision",
)
# Names re-exported from a lazily loaded subpackage: name -> subpackage.
_LAZY_NAMES = {"summary": "inspect", "receptive_field": "inspect", "save": "io", "load": "io"}
_LAZY_NAMES.update(features="transfer", linear_probe="transfer")


def _subpackage_present(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(f"cnnlab.{name}") is not None


def __getattr__(name: str):
    """Subpackages and a few of their names, imported on first use."""
    import importlib

    if name in _LAZY_SUBPACKAGES:
        if not _subpackage_present(name):
            raise AttributeError(
                f"module 'cnnlab' has no attribute {name!r}: the subpackage cnnlab.{name} "
                "is not part of this copy of cnnlab"
            )
        return importlib.import_module(f"cnnlab.{name}")
    if name in _DTYPES:
        return _DTYPES[name]
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(f"cnnlab.{_LAZY_NAMES[name]}"), name)
    raise AttributeError(f"module 'cnnlab' has no attribute {name!r}")


def __dir__() -> list:
    lazy = [n for n in _LAZY_SUBPACKAGES if _subpackage_present(n)]
    return sorted(set(globals()) | set(lazy) | set(_LAZY_NAMES) | set(_DTYPES))


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
    "load",
    "save",
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

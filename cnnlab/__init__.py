"""cnnlab: a convolutional-neural-network framework written from first principles on NumPy."""

from cnnlab.autograd import Function, Tensor, grad, is_grad_enabled, override_backward
from cnnlab.backend import get_array_module, get_default_dtype, manual_seed, set_default_dtype
from cnnlab.creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from cnnlab.devices import device
from cnnlab.dtypes import DTYPES as _DTYPES  # cnnlab.float32 ... via __getattr__
from cnnlab.functions.grad_mode import (
    enable_grad,
    inference_mode,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from cnnlab.gradcheck import gradcheck
from cnnlab.kernels import set_kernels
from cnnlab.memory_format import channels_last, contiguous_format, memory_format
from cnnlab.ops.shape import pad
from cnnlab.threads import get_num_threads, set_num_threads

__version__ = "0.1.0"


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
    "cuda",
    "backends",
    "amp",
    "accelerator",
    "return_types",
    "display",
    "utils",
    "vision",
)
# Names re-exported from a lazily loaded subpackage: name -> subpackage.
_LAZY_NAMES = {"summary": "inspect", "receptive_field": "inspect", "save": "io", "load": "io"}
_LAZY_NAMES.update(features="transfer", linear_probe="transfer", Size="size")
_LAZY_NAMES.update(show="display", Generator="generator", autocast="amp")
# The torch.* functions (cnnlab.functions), loaded on first use: name -> module.
_LAZY_FUNCTIONS = {
    "functions.indexing": "argwhere diag meshgrid nonzero repeat_interleave roll",
    "functions.linalg": "bmm dot einsum matmul mm mv outer t tensordot trace",
    "functions.logic": (
        "allclose bincount eq equal ge gt is_floating_point is_nonzero is_tensor isclose isfinite "
        "isinf isnan le logical_and logical_not logical_or logical_xor lt ne unique"
    ),
    "functions.pointwise": (
        "abs absolute add ceil clamp clamp_max clamp_min clip cos div divide exp expm1 floor "
        "floor_divide lerp log log1p log2 log10 log_softmax maximum minimum mul multiply neg "
        "negative pow reciprocal relu remainder round rsqrt sigmoid sign sin softmax sqrt "
        "square sub subtract tan tanh true_divide trunc where"
    ),
    "functions.reduce": (
        "all amax amin any argmax argmin argsort count_nonzero cumsum kthvalue logsumexp max "
        "mean median min norm prod sort std std_mean sum topk var var_mean"
    ),
    "functions.settings": (
        "are_deterministic_algorithms_enabled compile get_float32_matmul_precision "
        "set_float32_matmul_precision use_deterministic_algorithms"
    ),
    "functions.shape": (
        "cat chunk concat concatenate flatten flip gather hstack index_select masked_fill "
        "narrow numel permute reshape split squeeze stack swapaxes tile transpose tril triu "
        "unbind unsqueeze vstack"
    ),
}
for _module, _names in _LAZY_FUNCTIONS.items():
    _LAZY_NAMES.update(dict.fromkeys(_names.split(), _module))


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
        value = getattr(importlib.import_module(f"cnnlab.{_LAZY_NAMES[name]}"), name)
        globals()[name] = value  # found directly from now on (so this module's own code
        return value  # never calls max, sum, all, any ...: they may be cnnlab's)
    raise AttributeError(f"module 'cnnlab' has no attribute {name!r}")


def __dir__() -> list:
    lazy = [n for n in _LAZY_SUBPACKAGES if _subpackage_present(n)]
    return sorted(set(globals()) | set(lazy) | set(_LAZY_NAMES) | set(_DTYPES))


__all__ = [
    "abs",
    "absolute",
    "add",
    "all",
    "allclose",
    "amax",
    "amin",
    "any",
    "arange",
    "argmax",
    "argmin",
    "argsort",
    "argwhere",
    "as_tensor",
    "bincount",
    "bmm",
    "cat",
    "ceil",
    "channels_last",
    "chunk",
    "clamp",
    "clamp_max",
    "clamp_min",
    "clip",
    "concat",
    "concatenate",
    "contiguous_format",
    "cos",
    "count_nonzero",
    "cumsum",
    "device",
    "diag",
    "div",
    "divide",
    "dot",
    "einsum",
    "empty",
    "empty_like",
    "enable_grad",
    "eq",
    "equal",
    "exp",
    "expm1",
    "eye",
    "flatten",
    "flip",
    "floor",
    "floor_divide",
    "from_numpy",
    "full",
    "full_like",
    "Function",
    "gather",
    "ge",
    "get_array_module",
    "get_default_dtype",
    "get_num_threads",
    "grad",
    "gradcheck",
    "gt",
    "hstack",
    "index_select",
    "inference_mode",
    "is_floating_point",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "is_nonzero",
    "is_tensor",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "kthvalue",
    "le",
    "lerp",
    "linspace",
    "load",
    "log",
    "log10",
    "log1p",
    "log2",
    "log_softmax",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "logspace",
    "logsumexp",
    "lt",
    "manual_seed",
    "masked_fill",
    "matmul",
    "max",
    "maximum",
    "mean",
    "median",
    "memory_format",
    "meshgrid",
    "min",
    "minimum",
    "mm",
    "mul",
    "multiply",
    "mv",
    "narrow",
    "ne",
    "neg",
    "negative",
    "no_grad",
    "nonzero",
    "norm",
    "normal",
    "numel",
    "ones",
    "ones_like",
    "outer",
    "override_backward",
    "pad",
    "permute",
    "pow",
    "prod",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "randperm",
    "receptive_field",
    "reciprocal",
    "relu",
    "remainder",
    "repeat_interleave",
    "reshape",
    "roll",
    "round",
    "rsqrt",
    "save",
    "set_default_dtype",
    "set_grad_enabled",
    "set_kernels",
    "set_num_threads",
    "show",
    "sigmoid",
    "sign",
    "sin",
    "Size",
    "softmax",
    "sort",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "std_mean",
    "sub",
    "subtract",
    "sum",
    "summary",
    "swapaxes",
    "t",
    "tan",
    "tanh",
    "tensor",
    "Tensor",
    "tensordot",
    "tile",
    "topk",
    "trace",
    "transpose",
    "tril",
    "triu",
    "true_divide",
    "trunc",
    "unbind",
    "unique",
    "unsqueeze",
    "var",
    "var_mean",
    "vstack",
    "where",
    "zeros",
    "zeros_like",
]

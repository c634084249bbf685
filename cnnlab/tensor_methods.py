"""The Tensor methods that mirror the ``torch.*`` functions: ``x.pow(2)``, ``x.t()``,
``x.view_as(y)``, ``x.masked_fill(m, 0)``, ``x.sort()``, ``x.topk(3)``, ``x[i] = v``,
``x += y``, ``x.grad_fn`` ... (``new_*`` and the random fills: :mod:`cnnlab.tensor_factories`)

:class:`cnnlab.tensor.Tensor` inherits these (a base class with no state of its own); each
calls the function of the same name in :mod:`cnnlab.functions`, imported at call time
because those modules build on Tensor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnnlab.tensor import Tensor


def _red():
    from cnnlab.functions import reduce

    return reduce


def _pw():
    from cnnlab.functions import pointwise

    return pointwise


def _lin():
    from cnnlab.functions import linalg

    return linalg


def _shp():
    from cnnlab.functions import shape

    return shape


def _idx():
    from cnnlab.functions import indexing

    return indexing


def _logic():
    from cnnlab.functions import logic

    return logic


def _raw_index(index):
    """An index with its Tensors (masks, index lists) as raw arrays."""
    if isinstance(index, tuple):
        return tuple(_raw_index(i) for i in index)
    return index.array if hasattr(index, "array") else index


class TensorMethods:
    """Methods named as PyTorch's; each is the function ``cnnlab.<name>(self, ...)``."""

    __slots__ = ()

    # ----------------------------------------------------------------- graph
    @property
    def grad_fn(self):
        """The op that made this tensor (``name()``, ``next_functions``); None for leaves."""
        from cnnlab.grad_fn import grad_fn_of

        return grad_fn_of(self)

    # ------------------------------------------------------------- reductions
    def argmin(self, dim=None, keepdim: bool = False) -> Tensor:
        return _red().argmin(self, dim, keepdim)

    def amin(self, dim=None, keepdim: bool = False) -> Tensor:
        return _red().amin(self, dim, keepdim)

    def prod(self, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
        return _red().prod(self, dim, keepdim, dtype=dtype)

    def cumsum(self, dim: int, *, dtype=None) -> Tensor:
        return _red().cumsum(self, dim, dtype=dtype)

    def logsumexp(self, dim, keepdim: bool = False) -> Tensor:
        return _red().logsumexp(self, dim, keepdim)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False):
        return _red().sort(self, dim, descending, stable)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False):
        return _red().argsort(self, dim, descending, stable)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
        return _red().topk(self, k, dim, largest, sorted)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False):
        return _red().kthvalue(self, k, dim, keepdim)

    def median(self, dim=None, keepdim: bool = False):
        return _red().median(self, dim, keepdim)

    def count_nonzero(self, dim=None) -> Tensor:
        return _red().count_nonzero(self, dim)

    # ------------------------------------------------------------ elementwise
    def pow(self, exponent) -> Tensor:
        return _pw().pow(self, exponent)

    def square(self) -> Tensor:
        return _pw().square(self)

    def reciprocal(self) -> Tensor:
        return _pw().reciprocal(self)

    def rsqrt(self) -> Tensor:
        return _pw().rsqrt(self)

    def sin(self) -> Tensor:
        return _pw().sin(self)

    def cos(self) -> Tensor:
        return _pw().cos(self)

    def tan(self) -> Tensor:
        return _pw().tan(self)

    def log2(self) -> Tensor:
        return _pw().log2(self)

    def log10(self) -> Tensor:
        return _pw().log10(self)

    def log1p(self) -> Tensor:
        return _pw().log1p(self)

    def expm1(self) -> Tensor:
        return _pw().expm1(self)

    def floor(self) -> Tensor:
        return _pw().floor(self)

    def ceil(self) -> Tensor:
        return _pw().ceil(self)

    def round(self, *, decimals: int = 0) -> Tensor:
        return _pw().round(self, decimals=decimals)

    def trunc(self) -> Tensor:
        return _pw().trunc(self)

    def sign(self) -> Tensor:
        return _pw().sign(self)

    def neg(self) -> Tensor:
        return _pw().neg(self)

    negative = neg

    def maximum(self, other) -> Tensor:
        return _pw().maximum(self, other)

    def minimum(self, other) -> Tensor:
        return _pw().minimum(self, other)

    def clamp_min(self, min) -> Tensor:
        return _pw().clamp_min(self, min)

    def clamp_max(self, max) -> Tensor:
        return _pw().clamp_max(self, max)

    def add(self, other, *, alpha=1) -> Tensor:
        return _pw().add(self, other, alpha=alpha)

    def sub(self, other, *, alpha=1) -> Tensor:
        return _pw().sub(self, other, alpha=alpha)

    def mul(self, other) -> Tensor:
        return _pw().mul(self, other)

    def div(self, other, *, rounding_mode=None) -> Tensor:
        return _pw().div(self, other, rounding_mode=rounding_mode)

    multiply, subtract, divide = mul, sub, div

    def remainder(self, other) -> Tensor:
        return _pw().remainder(self, other)

    def floor_divide(self, other) -> Tensor:
        return _pw().floor_divide(self, other)

    def __mod__(self, other):
        return _pw().remainder(self, other)

    def __rmod__(self, other):
        return _pw().remainder(other, self)

    def __floordiv__(self, other):
        return _pw().floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _pw().floor_divide(other, self)

    def isnan(self) -> Tensor:
        return _logic().isnan(self)

    def isinf(self) -> Tensor:
        return _logic().isinf(self)

    def isfinite(self) -> Tensor:
        return _logic().isfinite(self)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
        return _logic().allclose(self, other, rtol, atol, equal_nan)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> Tensor:
        return _logic().isclose(self, other, rtol, atol, equal_nan)

    def equal(self, other) -> bool:
        return _logic().equal(self, other)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        return _logic().unique(self, sorted, return_inverse, return_counts, dim)

    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    # ------------------------------------------------------------------ linalg
    def matmul(self, other) -> Tensor:
        return _lin().matmul(self, other)

    def mm(self, mat2) -> Tensor:
        return _lin().mm(self, mat2)

    def bmm(self, mat2) -> Tensor:
        return _lin().bmm(self, mat2)

    def mv(self, vec) -> Tensor:
        return _lin().mv(self, vec)

    def dot(self, other) -> Tensor:
        return _lin().dot(self, other)

    def outer(self, vec2) -> Tensor:
        return _lin().outer(self, vec2)

    def t(self) -> Tensor:
        return _lin().t(self)

    # ---------------------------------------------------------- in-place operators
    # ``x += y`` changes x in place, as in PyTorch (the rules of cnnlab.inplace apply)
    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __setitem__(self, index, value) -> None:
        """``x[index] = value`` in place; gradients flow to ``value`` and the rest of ``x``."""
        from cnnlab.inplace import _apply
        from cnnlab.ops.index_put import IndexPut

        index = _raw_index(index)
        _apply(self, "__setitem__", lambda x: IndexPut.apply(x, value, index=index), value)

    # ------------------------------------------------------------------ shape
    def view_as(self, other) -> Tensor:
        return self.reshape(other.shape)

    reshape_as = view_as

    def expand_as(self, other) -> Tensor:
        return self.expand(other.shape)

    def repeat(self, *sizes) -> Tensor:
        return _shp().repeat(self, *sizes)

    def tile(self, dims) -> Tensor:
        return _shp().tile(self, dims)

    def flip(self, dims) -> Tensor:
        return _shp().flip(self, dims)

    def split(self, split_size, dim: int = 0) -> tuple:
        return _shp().split(self, split_size, dim)

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        return _shp().chunk(self, chunks, dim)

    def unbind(self, dim: int = 0) -> tuple:
        return _shp().unbind(self, dim)

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        return _shp().narrow(self, dim, start, length)

    def gather(self, dim: int, index) -> Tensor:
        return _shp().gather(self, dim, index)

    def index_select(self, dim: int, index) -> Tensor:
        return _shp().index_select(self, dim, index)

    def masked_fill(self, mask, value) -> Tensor:
        return _shp().masked_fill(self, mask, value)

    def masked_fill_(self, mask, value) -> Tensor:
        from cnnlab.inplace import _apply

        return _apply(self, "masked_fill_", lambda x: _shp().masked_fill(x, mask, value), value)

    def tril(self, diagonal: int = 0) -> Tensor:
        return _shp().tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        return _shp().triu(self, diagonal)

    def roll(self, shifts, dims=None) -> Tensor:
        return _idx().roll(self, shifts, dims)

    def repeat_interleave(self, repeats, dim=None) -> Tensor:
        return _idx().repeat_interleave(self, repeats, dim)

    def diag(self, diagonal: int = 0) -> Tensor:
        return _idx().diag(self, diagonal)

    def nonzero(self, *, as_tuple: bool = False):
        return _idx().nonzero(self, as_tuple=as_tuple)

    def bincount(self, weights=None, minlength: int = 0) -> Tensor:
        return _logic().bincount(self, weights, minlength)

    def lerp(self, end, weight) -> Tensor:
        return _pw().lerp(self, end, weight)

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return self.transpose(axis0, axis1)

    def nelement(self) -> int:
        return self.numel()

    def ndimension(self) -> int:
        return self.ndim

    def element_size(self) -> int:
        """Bytes per element."""
        return self.dtype.itemsize

    def is_contiguous(self) -> bool:
        """Always True: cnnlab tensors are read as dense arrays."""
        return True

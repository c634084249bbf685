"""Python's operators on tensors: ``x + y``, ``x * 2``, ``x @ w``, ``-x``, ``x ** 2``, and the
comparisons and logic (``x > 0``, ``m & n``), which give constant boolean tensors.

:class:`cnnlab.tensor.Tensor` inherits these (a base class with no state of its own); the
ops are imported at call time because they build on Tensor.
"""

from __future__ import annotations

from numbers import Number

import numpy as np

from cnnlab.promotion import promote

__all__ = ["TensorOperators"]


def _ew():
    from cnnlab.ops import elementwise

    return elementwise


def _linalg():
    from cnnlab.ops import linalg

    return linalg


def _tensor():
    from cnnlab.tensor import Tensor

    return Tensor


class TensorOperators:
    # -------------------------------------------------------------- arithmetic
    # arithmetic promotes its operands' dtypes as PyTorch does (cnnlab.promotion): a float32
    # tensor times an int64 one is float32, an integer tensor divided by 255 is float32
    def __add__(self, o):
        return _ew().Add.apply(*promote(self, o))

    def __radd__(self, o):
        return _ew().Add.apply(*promote(o, self))

    def __sub__(self, o):
        return _ew().Sub.apply(*promote(self, o))

    def __rsub__(self, o):
        return _ew().Sub.apply(*promote(o, self))

    def __mul__(self, o):
        return _ew().Mul.apply(*promote(self, o))

    def __rmul__(self, o):
        return _ew().Mul.apply(*promote(o, self))

    def __truediv__(self, o):
        return _ew().Div.apply(*promote(self, o, true_divide=True))

    def __rtruediv__(self, o):
        return _ew().Div.apply(*promote(o, self, true_divide=True))

    def __pow__(self, o):
        if isinstance(o, Number):
            x, _ = promote(self, o)
            return _ew().PowScalar.apply(x, exponent=o)
        return _ew().Pow.apply(*promote(self, o))

    def __rpow__(self, o):
        return _ew().Pow.apply(*promote(o, self))

    def __neg__(self):
        return _ew().Neg.apply(self)

    def __abs__(self):
        return _ew().Abs.apply(self)

    def __matmul__(self, o):
        return _linalg().MatMul.apply(self, o)

    def __rmatmul__(self, o):
        return _linalg().MatMul.apply(o, self)

    # comparisons and logic give constant boolean tensors (no gradient), as PyTorch
    def _cmp(self, o, op):
        od = o.array if isinstance(o, _tensor()) else o
        try:
            return _tensor()._make(op(self.array, od), False)
        except TypeError:  # an object NumPy cannot compare (pytest.approx ...): let it try
            return NotImplemented

    def __eq__(self, o):
        return self._cmp(o, np.equal)

    def __ne__(self, o):
        return self._cmp(o, np.not_equal)

    def __lt__(self, o):
        return self._cmp(o, np.less)

    def __le__(self, o):
        return self._cmp(o, np.less_equal)

    def __gt__(self, o):
        return self._cmp(o, np.greater)

    def __ge__(self, o):
        return self._cmp(o, np.greater_equal)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def __and__(self, o):
        return self._cmp(o, np.logical_and if self.dtype == np.bool_ else np.bitwise_and)

    def __or__(self, o):
        return self._cmp(o, np.logical_or if self.dtype == np.bool_ else np.bitwise_or)

    def __xor__(self, o):
        return self._cmp(o, np.logical_xor if self.dtype == np.bool_ else np.bitwise_xor)

    def __invert__(self):
        op = np.logical_not if self.dtype == np.bool_ else np.invert
        return _tensor()._make(op(self.array), False)

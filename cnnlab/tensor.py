"""Tensor: an n-dimensional array with an optional gradient and a record of how it was made.

The engine (ops, graph, backward) lives in :mod:`cnnlab.autograd`; this module is the
user-facing object with PyTorch's method names. ``.grad`` is a Tensor (or None), as in
PyTorch; ``np.asarray(t)`` and ``np.asarray(t.grad)`` give NumPy arrays.
Conversions (NumPy, Python numbers, dtypes, devices) are in :mod:`cnnlab.tensor_convert`,
the in-place rules (``add_``, ``zero_`` ...) in :mod:`cnnlab.inplace`.
"""

from __future__ import annotations

import numpy as np

from cnnlab import backend
from cnnlab.backward import _root_grad, _run_backward
from cnnlab.inplace import TensorInPlace
from cnnlab.memory_format import contiguous_format, is_format
from cnnlab.size import Size
from cnnlab.tensor_convert import TensorConversions
from cnnlab.tensor_factories import TensorFactories
from cnnlab.tensor_methods import TensorMethods
from cnnlab.tensor_operators import TensorOperators

__all__ = ["Tensor", "tensor"]


def _as_array(data, dtype=None):
    """NumPy/CuPy array from user data; Python floats and lists take the default dtype."""
    xp = backend.get_array_module(data)
    if isinstance(data, Tensor):
        data = data.array
    if hasattr(data, "__array__") or (xp is not np and isinstance(data, xp.ndarray)):
        arr = xp.asarray(data, dtype=dtype)
    else:
        arr = np.asarray(data, dtype=dtype)
        if dtype is None and arr.dtype.kind == "f":
            arr = arr.astype(backend.get_default_dtype())
    return arr


class Tensor(TensorConversions, TensorInPlace, TensorMethods, TensorOperators, TensorFactories):
    """An n-dimensional array with an optional gradient and a record of how it was made."""

    __slots__ = (
        "_data",
        "_grad",
        "requires_grad",
        "_node",
        "_hooks",
        "_retain_grad",
        "_version",
        "_inplace_op",
        "__weakref__",
    )
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operator
    __hash__ = object.__hash__  # by identity: Parameters live in sets and dict keys

    def __init__(self, data, requires_grad: bool = False, dtype=None) -> None:
        self.array = _as_array(data, dtype)
        if requires_grad and self.array.dtype.kind not in "fc":
            raise TypeError(f"only floating tensors can require grad, got dtype {self.array.dtype}")
        self._grad = None
        self.requires_grad = bool(requires_grad)
        self._node = None
        self._hooks = ()
        self._retain_grad = False
        self._version = 0
        self._inplace_op = None

    @classmethod
    def _make(cls, data, requires_grad: bool) -> Tensor:
        t = cls.__new__(cls)
        t._data = data if hasattr(data, "shape") else np.asarray(data)
        t._grad = None
        t.requires_grad = requires_grad
        t._node = None
        t._hooks = ()
        t._retain_grad = False
        t._version = 0
        t._inplace_op = None
        return t

    # ----------------------------------------------------------------- properties
    @property
    def array(self):
        """The engine's raw NumPy (or CuPy) array behind this tensor: what ops compute on."""
        return self._data

    @array.setter
    def array(self, value) -> None:
        self._data = value.array if isinstance(value, Tensor) else value

    @property
    def data(self) -> Tensor:
        """A Tensor sharing this tensor's memory, outside the graph, as PyTorch's ``.data``.

        Changing it in place changes this tensor and is invisible to autograd (no version
        bump), so ``p.data.sub_(lr * p.grad)`` and ``m.weight.data.fill_(0)`` work as in
        PyTorch; ``.detach()`` is the safer spelling. Assigning ``t.data = other`` makes
        ``t`` hold ``other``'s values. ``.array`` is the raw array itself."""
        return Tensor._make(self.array, False)

    @data.setter
    def data(self, value) -> None:
        if not isinstance(value, Tensor):
            value = Tensor(value)
        self._data = value.array

    @property
    def grad(self) -> Tensor | None:
        """The accumulated gradient, a Tensor of this tensor's shape (None before backward)."""
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                value = Tensor._make(backend.get_array_module(value).asarray(value), False)
            if value.shape != self.shape:
                raise ValueError(
                    f"assigned grad has shape {tuple(value.shape)}, the tensor has shape "
                    f"{tuple(self.shape)}"
                )
        self._grad = value

    def _accumulate_grad(self, g) -> None:
        """Add the array ``g`` into ``.grad`` (the engine calls this for leaves)."""
        if self._grad is None:
            # in g's memory format (a channels-last gradient stays one), as PyTorch's
            self._grad = Tensor._make(g.copy(order="K"), False)
        else:
            self._grad = Tensor._make(self._grad.array + g, False)

    @property
    def shape(self) -> Size:
        """The lengths of the dimensions, a :class:`cnnlab.Size` (a tuple, as ``torch.Size``)."""
        return Size._of(self._data.shape)

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def device(self) -> backend.device:
        return backend.device_of(self._data)

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim: int | None = None):
        """The shape as a :class:`cnnlab.Size`, or with ``dim`` the length of that dimension."""
        return Size._of(self._data.shape) if dim is None else self._data.shape[dim]

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        """The number of elements."""
        return int(self._data.size)

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.array)

    def __repr__(self) -> str:
        body = np.array2string(backend.to_numpy(self.array), precision=4, separator=", ")
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.array.dtype != np.float32:
            extra = f", dtype={self.array.dtype}" + extra
        return f"tensor({body}{extra})"

    def __format__(self, spec: str) -> str:
        """A 0-d tensor formats as its number (``f"{loss:.4f}"``), as in PyTorch."""
        if self.array.ndim == 0:
            return format(self.array.item(), spec)
        return object.__format__(self, spec)

    # ------------------------------------------------------------------ graph
    def detach(self) -> Tensor:
        """The same data, cut off from the graph."""
        return Tensor._make(self.array, False)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        if flag and self.array.dtype.kind not in "fc":
            raise TypeError(f"only floating tensors can require grad, got dtype {self.dtype}")
        self.requires_grad = flag
        return self

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` for this non-leaf tensor after backward (Grad-CAM uses it)."""
        self._retain_grad = True
        if self._node is not None:
            self._node.pin = self  # the graph keeps it until backward has filled .grad
        return self

    def register_hook(self, hook):
        """``hook(grad: Tensor) -> Tensor | None`` runs when this tensor's gradient is computed."""
        self._hooks = (*self._hooks, hook)
        if self._node is not None:
            self._node.pin = self  # the graph keeps it so that the hook fires
        return hook

    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``."""
        _run_backward(self, _root_grad(self, grad), retain_graph)

    def zero_grad(self) -> None:
        self._grad = None

    # ------------------------------------------------------------ elementwise
    def exp(self):
        return _ew.Exp.apply(self)

    def log(self):
        return _ew.Log.apply(self)

    def sqrt(self):
        return _ew.Sqrt.apply(self)

    def abs(self):
        return _ew.Abs.apply(self)

    def clamp(self, min=None, max=None):
        return _ew.Clamp.apply(self, min=min, max=max)

    clip = clamp

    def relu(self):
        from cnnlab.ops import activation  # ops import Tensor: bound on first use

        return activation.relu(self)

    def sigmoid(self):
        from cnnlab.ops import activation  # ops import Tensor: bound on first use

        return activation.sigmoid(self)

    def tanh(self):
        from cnnlab.ops import activation  # ops import Tensor: bound on first use

        return activation.tanh(self)

    def softmax(self, dim):
        from cnnlab.ops import activation  # ops import Tensor: bound on first use

        return activation.softmax(self, dim)

    def log_softmax(self, dim):
        from cnnlab.ops import activation  # ops import Tensor: bound on first use

        return activation.log_softmax(self, dim)

    # ------------------------------------------------------------- reductions
    def sum(self, dim=None, keepdim: bool = False):
        return _reduce.Sum.apply(self, dim=dim, keepdim=keepdim)

    def mean(self, dim=None, keepdim: bool = False):
        return _reduce.mean(self, dim=dim, keepdim=keepdim)

    def var(
        self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None
    ):
        """Variance; unbiased (``correction=1``) by default, as PyTorch."""
        return _reduce.var(self, dim=dim, keepdim=keepdim, unbiased=unbiased, correction=correction)

    def std(
        self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None
    ):
        """Standard deviation; unbiased (``correction=1``) by default, as PyTorch."""
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def norm(self, p=2, dim=None, keepdim: bool = False):
        """The p-norm over ``dim`` (all elements by default); ``p`` in 1, 2, 'fro', inf or > 0."""
        return _reduce.norm(self, p=p, dim=dim, keepdim=keepdim)

    def max(self, dim=None, keepdim: bool = False):
        """Largest value; with ``dim``, ``(values, indices)`` as in PyTorch."""
        return _reduce.max(self, dim=dim, keepdim=keepdim)

    def min(self, dim=None, keepdim: bool = False):
        return _reduce.min(self, dim=dim, keepdim=keepdim)

    def amax(self, dim=None, keepdim: bool = False):
        return _reduce.Amax.apply(self, dim=dim, keepdim=keepdim)

    def any(self, dim=None, keepdim: bool = False) -> Tensor:
        """Whether any element (along ``dim``) is nonzero: a boolean tensor, no gradient."""
        return Tensor._make(self.array.any(axis=dim, keepdims=keepdim), False)

    def all(self, dim=None, keepdim: bool = False) -> Tensor:
        """Whether every element (along ``dim``) is nonzero: a boolean tensor, no gradient."""
        return Tensor._make(self.array.all(axis=dim, keepdims=keepdim), False)

    def argmax(self, dim=None, keepdim: bool = False):
        return Tensor._make(_reduce.argmax_array(self.array, dim, keepdim), False)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _shape.Reshape.apply(self, shape=shape)

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        return _shape.flatten(self, start_dim, end_dim)

    def permute(self, *dims):
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return _shape.Permute.apply(self, dims=dims)

    def transpose(self, dim0: int, dim1: int):
        return _shape.transpose(self, dim0, dim1)

    def squeeze(self, dim=None):
        return _shape.squeeze(self, dim)

    def unsqueeze(self, dim: int):
        return _shape.unsqueeze(self, dim)

    def expand(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _shape.Expand.apply(self, shape=shape)

    def __getitem__(self, index):
        if isinstance(index, Tensor):
            index = index.array
        elif isinstance(index, tuple):
            index = tuple(i.array if isinstance(i, Tensor) else i for i in index)
        return _shape.GetItem.apply(self, index=index)

    def contiguous(self, memory_format=contiguous_format) -> Tensor:
        """This tensor where its array lies in memory as ``memory_format``
        (``cnnlab.contiguous_format`` or ``cnnlab.channels_last``), else a copy that does
        (in the graph, as PyTorch)."""
        if is_format(self._data, memory_format, "Tensor.contiguous"):
            return self
        return _copy.Contiguous.apply(self, memory_format=memory_format)

    def is_contiguous(self, memory_format=contiguous_format) -> bool:
        """Whether the array lies in memory as ``memory_format`` (see :meth:`contiguous`)."""
        return is_format(self._data, memory_format, "Tensor.is_contiguous")


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Make a Tensor. Lists and Python floats become float32 (the default dtype); arrays
    keep their dtype unless ``dtype`` is given."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


# The ops import Tensor from this module, so they are bound after Tensor exists.
from cnnlab.ops import copy as _copy  # noqa: E402
from cnnlab.ops import elementwise as _ew  # noqa: E402
from cnnlab.ops import reduce as _reduce  # noqa: E402
from cnnlab.ops import shape as _shape  # noqa: E402

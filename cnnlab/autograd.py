"""Tensor, the op contract (Function) and the define-by-run reverse-mode engine.

An op is a pair of pure functions on raw arrays::

    class Exp(Function):
        @staticmethod
        def forward(x):            # raw arrays in (None for an absent optional input)
            y = np.exp(x)
            return y, y            # (output, whatever backward needs)

        # dL/dx = dL/dy * exp(x)
        @staticmethod
        def backward(ctx, gy):     # one gradient (or None) per input
            return (gy * ctx,)

Non-tensor arguments are keyword-only. The engine, not each op, un-broadcasts gradients,
casts them to the input's dtype and checks their shapes (see :func:`_accumulate`).
The backward pass is iterative, so graphs thousands of ops deep never meet Python's
recursion limit. :func:`override_backward` swaps an op's backward rule inside a ``with``
block: guided backprop and the deconvnet use it to change how ReLU passes gradients.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from numbers import Number

import numpy as np

from cnnlab import backend, threads

__all__ = [
    "Function",
    "Tensor",
    "tensor",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "override_backward",
    "grad",
    "trace",
]


class _State(threading.local):
    def __init__(self) -> None:
        self.grad_enabled = True
        self.overrides: dict = {}
        self.tracers: list = []


_state = _State()
_FREED = object()


def is_grad_enabled() -> bool:
    return _state.grad_enabled


class _GradMode:
    """Context manager and decorator that sets whether ops record a graph."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __enter__(self):
        self.prev = _state.grad_enabled
        _state.grad_enabled = self.enabled
        return self

    def __exit__(self, *exc):
        _state.grad_enabled = self.prev
        return False

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with _GradMode(self.enabled):
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = getattr(fn, "__doc__", None)
        return wrapper


def no_grad() -> _GradMode:
    """Ops inside ``with no_grad():`` record no graph (inference, parameter updates)."""
    return _GradMode(False)


def enable_grad() -> _GradMode:
    return _GradMode(True)


@contextmanager
def override_backward(function: type, backward):
    """Replace ``function.backward`` with ``backward(ctx, grad)`` inside the block.

    The rule applies to nodes created inside the block *and* to any backward pass run inside
    it, so both ``with override: loss = f(x)`` and ``with override: loss.backward()`` work.
    """
    if not (isinstance(function, type) and issubclass(function, Function)):
        raise TypeError(f"override_backward expects a Function subclass, got {function!r}")
    prev = _state.overrides.get(function)
    _state.overrides[function] = backward
    try:
        yield
    finally:
        if prev is None:
            _state.overrides.pop(function, None)
        else:
            _state.overrides[function] = prev


@contextmanager
def trace(callback):
    """Call ``callback(function, inputs, kwargs, output)`` after every op run in the block.

    Inputs are as passed (Tensors, arrays, scalars or None). Summaries and receptive-field
    analysis use this to see the real graph of a model, branches included.
    """
    _state.tracers.append(callback)
    try:
        yield
    finally:
        _state.tracers.remove(callback)


class Node:
    """One recorded op application: what the backward pass needs to run it."""

    __slots__ = ("fn", "ctx", "parents", "backward_fn")

    def __init__(self, fn, ctx, parents, backward_fn) -> None:
        self.fn = fn
        self.ctx = ctx
        self.parents = parents
        self.backward_fn = backward_fn


class Function:
    """Base class of every op with a hand-written backward (see the module docstring).

    An op that sets ``takes_needs_input_grad = True`` gets ``needs_input_grad`` (a tuple of
    bools, one per input: PyTorch's name) as a keyword argument of its forward, so it can
    keep for backward only what the gradients that will be asked for need, and skip work
    (max pooling's argmax under ``no_grad``). Ops never read the grad mode themselves.
    """

    takes_needs_input_grad = False

    @staticmethod
    def forward(*arrays, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **kwargs) -> Tensor:
        return cls.apply_with_ctx(*inputs, **kwargs)[0]

    @classmethod
    def apply_with_ctx(cls, *inputs, **kwargs):
        """Run the op; return ``(output Tensor, ctx)`` so callers can read extra outputs."""
        arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
        enabled = _state.grad_enabled
        needs = tuple(enabled and isinstance(x, Tensor) and x.requires_grad for x in inputs)
        if cls.takes_needs_input_grad:
            out, ctx = cls.forward(*arrays, needs_input_grad=needs, **kwargs)
        else:
            out, ctx = cls.forward(*arrays, **kwargs)
        needs_grad = any(needs)
        result = Tensor._make(out, needs_grad)
        if needs_grad:
            parents = tuple(
                x if isinstance(x, Tensor) and x.requires_grad else None for x in inputs
            )
            result._node = Node(cls, ctx, parents, _state.overrides.get(cls))
        if _state.tracers:
            for tracer in _state.tracers:
                tracer(cls, inputs, kwargs, result)
        return result, ctx


def _unbroadcast(g, shape: tuple):
    """Sum ``g`` down to ``shape`` (the inverse of NumPy broadcasting)."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra < 0:
        raise ValueError(f"gradient of shape {g.shape} has fewer dims than its input {shape}")
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


def _check_grad(node: Node, i: int, parent: Tensor, g):
    xp = backend.get_array_module(g)
    if not hasattr(g, "shape"):
        g = xp.asarray(g)
    if g.shape != parent.shape:
        try:
            g = _unbroadcast(g, parent.shape)
        except ValueError:
            g = None
        if g is None or g.shape != parent.shape:
            raise RuntimeError(
                f"{node.fn.__name__}.backward returned a gradient of shape "
                f"{getattr(g, 'shape', None)} for input {i} of shape {parent.shape}"
            )
    if g.dtype != parent.dtype:
        g = g.astype(parent.dtype)
    return g


def _topological_order(root: Tensor) -> list:
    """Tensors reachable from ``root``, each after all the tensors it was computed from."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in visited:
            continue
        visited.add(id(t))
        stack.append((t, True))
        node = t._node
        if node is not None:
            for p in node.parents:
                if p is not None and id(p) not in visited:
                    stack.append((p, False))
    return order


def _run_backward(root: Tensor, grad_root, retain_graph: bool, targets=None):
    """:func:`_sweep`, with BLAS held to one thread for the whole pass (see cnnlab.threads)."""
    with threads.hold_blas():
        return _sweep(root, grad_root, retain_graph, targets)


def _sweep(root: Tensor, grad_root, retain_graph: bool, targets=None):
    """Reverse-mode sweep from ``root``. Accumulates into ``.grad`` of leaves, or, with
    ``targets``, returns the gradients of those tensors without touching any ``.grad``."""
    order = _topological_order(root)
    grads = {id(root): grad_root}
    owned = set()  # ids whose gradient array we allocated ourselves (safe to add into)
    target_ids = {id(t): i for i, t in enumerate(targets)} if targets is not None else None
    found = [None] * len(targets) if targets is not None else None
    for t in reversed(order):
        g = grads.pop(id(t), None)
        if g is None:
            continue
        for hook in t._hooks:
            r = hook(Tensor._make(g, False))
            if r is not None:
                g = r.data if isinstance(r, Tensor) else r
        if target_ids is not None:
            if id(t) in target_ids:
                found[target_ids[id(t)]] = g
        elif t._node is None or t._retain_grad:
            if t.requires_grad:
                t.grad = g.copy() if t.grad is None else t.grad + g
        node = t._node
        if node is None:
            continue
        if node.ctx is _FREED:
            raise RuntimeError(
                "trying to backward through the graph a second time: its saved arrays were "
                "freed; call .backward(retain_graph=True) the first time"
            )
        bw = _state.overrides.get(node.fn) or node.backward_fn or node.fn.backward
        in_grads = bw(node.ctx, g)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        if len(in_grads) != len(node.parents):
            raise RuntimeError(
                f"{node.fn.__name__}.backward returned {len(in_grads)} gradients for "
                f"{len(node.parents)} inputs"
            )
        for i, (p, gi) in enumerate(zip(node.parents, in_grads)):
            if p is None or gi is None:
                continue
            gi = _check_grad(node, i, p, gi)
            key = id(p)
            prev = grads.get(key)
            if prev is None:
                grads[key] = gi
            elif key in owned and prev.ndim:
                prev += gi
            else:
                grads[key] = prev + gi
                owned.add(key)
        if not retain_graph:
            node.ctx = _FREED
    return found


def grad(outputs: Tensor, inputs, grad_outputs=None, retain_graph: bool = False):
    """Gradients of ``outputs`` with respect to ``inputs`` (a Tensor or a sequence), returned
    as a tuple of ndarrays (None where an input does not affect the output). No ``.grad``
    is changed. Saliency maps and attacks use this for the gradient with respect to images.
    """
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    g0 = _root_grad(outputs, grad_outputs)
    found = _run_backward(outputs, g0, retain_graph, targets=inputs)
    return tuple(found)


def _root_grad(t: Tensor, g):
    if not t.requires_grad:
        raise RuntimeError("this tensor does not require grad and has no graph to backward")
    xp = backend.get_array_module(t.data)
    if g is None:
        if t.data.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs; got shape {t.shape}"
            )
        return xp.ones_like(t.data)
    g = g.data if isinstance(g, Tensor) else xp.asarray(g, dtype=t.dtype)
    if g.shape != t.shape:
        raise ValueError(f"gradient of shape {g.shape} given for a tensor of shape {t.shape}")
    return g.astype(t.dtype, copy=False)


def _as_array(data, dtype=None):
    """NumPy/CuPy array from user data; Python floats and lists take the default dtype."""
    xp = backend.get_array_module(data)
    if isinstance(data, Tensor):
        data = data.data
    if hasattr(data, "__array__") or (xp is not np and isinstance(data, xp.ndarray)):
        arr = xp.asarray(data, dtype=dtype)
    else:
        arr = np.asarray(data, dtype=dtype)
        if dtype is None and arr.dtype.kind == "f":
            arr = arr.astype(backend.get_default_dtype())
    return arr


class Tensor:
    """An n-dimensional array with an optional gradient and a record of how it was made."""

    __slots__ = ("data", "grad", "requires_grad", "_node", "_hooks", "_retain_grad", "__weakref__")
    __array_priority__ = 1000  # ndarray (op) Tensor defers to Tensor's reflected operator

    def __init__(self, data, requires_grad: bool = False, dtype=None) -> None:
        self.data = _as_array(data, dtype)
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(f"only floating tensors can require grad, got dtype {self.data.dtype}")
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._node = None
        self._hooks = ()
        self._retain_grad = False

    @classmethod
    def _make(cls, data, requires_grad: bool) -> Tensor:
        t = cls.__new__(cls)
        t.data = data if hasattr(data, "shape") else np.asarray(data)
        t.grad = None
        t.requires_grad = requires_grad
        t._node = None
        t._hooks = ()
        t._retain_grad = False
        return t

    # ----------------------------------------------------------------- properties
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(backend.to_numpy(self.data), precision=4, separator=", ")
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.data.dtype != np.float32:
            extra = f", dtype={self.data.dtype}" + extra
        return f"tensor({body}{extra})"

    # ------------------------------------------------------------ conversions
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shares memory on the CPU; no graph)."""
        return backend.to_numpy(self.data)

    def item(self):
        return self.data.item()

    def tolist(self):
        return backend.to_numpy(self.data).tolist()

    def detach(self) -> Tensor:
        """The same data, cut off from the graph."""
        return Tensor._make(self.data, False)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        if flag and self.data.dtype.kind not in "fc":
            raise TypeError(f"only floating tensors can require grad, got dtype {self.dtype}")
        self.requires_grad = flag
        return self

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` for this non-leaf tensor after backward (Grad-CAM uses it)."""
        self._retain_grad = True
        return self

    def register_hook(self, hook):
        """``hook(grad) -> Tensor | None`` runs when this tensor's gradient is computed."""
        self._hooks = (*self._hooks, hook)
        return hook

    def astype(self, dtype) -> Tensor:
        from cnnlab.ops.elementwise import Cast

        return Cast.apply(self, dtype=np.dtype(dtype))

    to_dtype = astype

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def to(self, target) -> Tensor:
        """``to('cpu')``, ``to('cuda')`` or ``to(dtype)``."""
        if isinstance(target, str) and (target == "cpu" or target.startswith("cuda")):
            t = Tensor._make(backend.to_device(self.data, target), self.requires_grad)
            return t
        return self.astype(target)

    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``."""
        _run_backward(self, _root_grad(self, grad), retain_graph)

    def zero_grad(self) -> None:
        self.grad = None

    # -------------------------------------------------------------- arithmetic
    def __add__(self, o):
        return _ew.Add.apply(self, o)

    def __radd__(self, o):
        return _ew.Add.apply(o, self)

    def __sub__(self, o):
        return _ew.Sub.apply(self, o)

    def __rsub__(self, o):
        return _ew.Sub.apply(o, self)

    def __mul__(self, o):
        return _ew.Mul.apply(self, o)

    def __rmul__(self, o):
        return _ew.Mul.apply(o, self)

    def __truediv__(self, o):
        return _ew.Div.apply(self, o)

    def __rtruediv__(self, o):
        return _ew.Div.apply(o, self)

    def __pow__(self, o):
        if isinstance(o, Number):
            return _ew.PowScalar.apply(self, exponent=o)
        return _ew.Pow.apply(self, o)

    def __rpow__(self, o):
        return _ew.Pow.apply(o, self)

    def __neg__(self):
        return _ew.Neg.apply(self)

    def __matmul__(self, o):
        return _linalg.MatMul.apply(self, o)

    def __rmatmul__(self, o):
        return _linalg.MatMul.apply(o, self)

    # comparisons give constant boolean tensors
    def _cmp(self, o, op):
        od = o.data if isinstance(o, Tensor) else o
        return Tensor._make(op(self.data, od), False)

    def __lt__(self, o):
        return self._cmp(o, np.less)

    def __le__(self, o):
        return self._cmp(o, np.less_equal)

    def __gt__(self, o):
        return self._cmp(o, np.greater)

    def __ge__(self, o):
        return self._cmp(o, np.greater_equal)

    def eq(self, o):
        return self._cmp(o, np.equal)

    __hash__ = object.__hash__

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
        from cnnlab.nn import functional as F

        return F.relu(self)

    def sigmoid(self):
        from cnnlab.nn import functional as F

        return F.sigmoid(self)

    def tanh(self):
        from cnnlab.nn import functional as F

        return F.tanh(self)

    def softmax(self, dim):
        from cnnlab.nn import functional as F

        return F.softmax(self, dim)

    def log_softmax(self, dim):
        from cnnlab.nn import functional as F

        return F.log_softmax(self, dim)

    # ------------------------------------------------------------- reductions
    def sum(self, dim=None, keepdim: bool = False):
        return _reduce.Sum.apply(self, dim=dim, keepdim=keepdim)

    def mean(self, dim=None, keepdim: bool = False):
        return _reduce.mean(self, dim=dim, keepdim=keepdim)

    def var(self, dim=None, keepdim: bool = False, unbiased: bool = True):
        return _reduce.var(self, dim=dim, keepdim=keepdim, unbiased=unbiased)

    def max(self, dim=None, keepdim: bool = False):
        """Largest value; with ``dim``, ``(values, indices)`` as in PyTorch."""
        return _reduce.max(self, dim=dim, keepdim=keepdim)

    def min(self, dim=None, keepdim: bool = False):
        return _reduce.min(self, dim=dim, keepdim=keepdim)

    def amax(self, dim=None, keepdim: bool = False):
        return _reduce.Amax.apply(self, dim=dim, keepdim=keepdim)

    def argmax(self, dim=None, keepdim: bool = False):
        return Tensor._make(_reduce.argmax_array(self.data, dim, keepdim), False)

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
            index = index.data
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        return _shape.GetItem.apply(self, index=index)

    def contiguous(self):
        return self


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Make a Tensor. Lists and Python floats become float32 (the default dtype); arrays
    keep their dtype unless ``dtype`` is given."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


# The ops import Function from this module, so they are bound after Tensor exists.
from cnnlab.ops import elementwise as _ew  # noqa: E402
from cnnlab.ops import linalg as _linalg  # noqa: E402
from cnnlab.ops import reduce as _reduce  # noqa: E402
from cnnlab.ops import shape as _shape  # noqa: E402

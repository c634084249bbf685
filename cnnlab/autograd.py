"""The op contract (Function) and the define-by-run reverse-mode engine (Tensor: cnnlab.tensor).

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
recursion limit. The graph is made of nodes, as PyTorch's: a node keeps its op's ``ctx``
and, for each input, the input's node (a leaf: the tensor itself), never an intermediate
tensor, so an activation's array is freed as soon as no op saved it and no one holds it
(a conv output that only fed a ReLU, which saves its own output).
:func:`override_backward` swaps an op's backward rule inside a ``with`` block: guided
backprop and the deconvnet use it to change how ReLU passes gradients.
"""

from __future__ import annotations

import threading
import weakref
from contextlib import contextmanager

from cnnlab import backend, threads
from cnnlab.kernels import layout

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
    """One recorded op application: what the backward pass needs to run it.

    ``parents`` has one entry per input: None (no gradient wanted), the input's own node
    (an op's output) or the tensor itself (a leaf). The node knows its output tensor only
    weakly (``output()``), to fire its hooks and keep ``retain_grad``'s gradient while the
    tensor lives; hooks and ``retain_grad`` pin it (``pin``), as PyTorch keeps them on the
    node. ``shape`` and ``dtype`` are the output's, for checking the gradients into it.
    """

    __slots__ = ("fn", "ctx", "parents", "backward_fn", "versions", "out", "pin", "shape", "dtype")

    def __init__(self, fn, ctx, parents, backward_fn, versions=()) -> None:
        self.fn = fn
        self.ctx = ctx
        self.parents = parents
        self.backward_fn = backward_fn
        self.versions = versions  # ((input index, tensor or weakref, its version), ...)
        self.out = None
        self.pin = None

    def output(self):
        """The tensor this node made, while it lives and still holds this node (an in-place
        op gives it a new one)."""
        t = self.pin if self.pin is not None else (self.out() if self.out is not None else None)
        return t if t is not None and t._node is self else None


def _edge(x):
    """What a node keeps of input ``x``: None, the leaf tensor itself, or ``x``'s node."""
    if not (isinstance(x, Tensor) and x.requires_grad):
        return None
    return x if x._node is None else x._node


class Function:
    """Base class of every op with a hand-written backward (see the module docstring).

    An op that sets ``takes_needs_input_grad = True`` gets ``needs_input_grad`` (a tuple of
    bools, one per input: PyTorch's name) as a keyword argument of its forward, so it can
    keep for backward only what the gradients that will be asked for need, and skip work
    (max pooling's argmax under ``no_grad``). Ops never read the grad mode themselves.
    """

    takes_needs_input_grad = False

    # True for ops whose forward and backward take blocked-layout images (cnnlab.kernels.
    # layout) as they are: the engine then passes a tensor's stored array unconverted, and
    # the gradient as it comes; every other op sees plain arrays.
    keeps_layout = False

    # False for ops whose backward needs no input values (add, sum, reshape ...): changing
    # their inputs in place afterwards is then harmless and not reported.
    saves_inputs = True

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
        if cls.keeps_layout and cls not in _state.overrides:
            arrays = [x._data if isinstance(x, Tensor) else x for x in inputs]
        else:
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
            parents = tuple(_edge(x) for x in inputs)
            versions = _versions(inputs) if cls.saves_inputs else ()
            node = Node(cls, ctx, parents, _state.overrides.get(cls), versions)
            node.out, node.shape, node.dtype = weakref.ref(result), result.shape, result.dtype
            result._node = node
        if _state.tracers:
            for tracer in _state.tracers:
                tracer(cls, inputs, kwargs, result)
        return result, ctx


def _dense_ctx(ctx):
    # a replacement backward (cnnlab.override_backward) reads ctx as plain arrays
    if layout.is_blocked(ctx):
        return ctx.dense()
    if type(ctx) is tuple and any(layout.is_blocked(c) for c in ctx):
        return tuple(layout.dense(c) for c in ctx)
    return ctx  # the same object: a replacement backward may key on it


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
        g = layout.dense(g)  # summed over broadcast dims as a plain array
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


def _versions(inputs) -> list:
    # an op's output is never overwritten in memory (cnnlab.inplace gives it a new array):
    # once it is gone, the array its op saved is intact, so a weak reference does; a leaf
    # (an image, a parameter) may be overwritten in place, so it is held
    return [
        (i, x if x._node is None else weakref.ref(x), x._version)
        for i, x in enumerate(inputs)
        if isinstance(x, Tensor)
    ]


def _check_versions(node: Node) -> None:
    """Raise if an input this op's backward needs was changed in place after the op ran."""
    for i, ref, version in node.versions:
        x = ref() if isinstance(ref, weakref.ref) else ref
        if x is not None and x._version != version:
            raise RuntimeError(
                f"one of the tensors needed to compute the gradient of {node.fn.__name__} "
                f"(its input {i}, shape {x.shape}) was modified by an in-place operation "
                f"({x._inplace_op}) after {node.fn.__name__} used it: it is at version "
                f"{x._version}, {node.fn.__name__} needs version {version}. Use the "
                f"out-of-place op, or .clone() the tensor before changing it"
            )


def _topological_order(root) -> list:
    """Nodes and leaves reachable from ``root``, each after all those it was computed from."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        item, done = stack.pop()
        if done:
            order.append(item)
            continue
        if id(item) in visited:
            continue
        visited.add(id(item))
        stack.append((item, True))
        if isinstance(item, Node):
            for p in item.parents:
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
    start = root if root._node is None else root._node
    order = _topological_order(start)
    grads = {id(start): grad_root}
    owned = set()  # ids whose gradient array we allocated ourselves (safe to add into)
    target_ids = None
    if targets is not None:
        target_ids = {id(t if t._node is None else t._node): i for i, t in enumerate(targets)}
    found = [None] * len(targets) if targets is not None else None
    for item in reversed(order):
        g = grads.pop(id(item), None)
        if g is None:
            continue
        node = item if isinstance(item, Node) else None
        t = item if node is None else node.output()
        if t is not None:
            for hook in t._hooks:
                r = hook(Tensor._make(g, False))
                if r is not None:
                    g = r.data if isinstance(r, Tensor) else r
        if target_ids is not None:
            if id(item) in target_ids:
                found[target_ids[id(item)]] = g
        elif t is not None and (node is None or t._retain_grad) and t.requires_grad:
            t._accumulate_grad(g)
        if node is None:
            continue
        if node.ctx is _FREED:
            raise RuntimeError(
                "trying to backward through the graph a second time: its saved arrays were "
                "freed; call .backward(retain_graph=True) the first time"
            )
        if node.versions:
            _check_versions(node)
        bw = _state.overrides.get(node.fn) or node.backward_fn
        ctx = node.ctx
        if bw is not None:  # a replacement backward reads plain arrays
            g, ctx = layout.dense(g), _dense_ctx(ctx)
        elif not node.fn.keeps_layout:
            g = layout.dense(g)
        in_grads = (bw or node.fn.backward)(ctx, g)
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
                grads[key] = layout.add_(prev, gi)
            else:
                grads[key] = layout.add(prev, gi)
                owned.add(key)
        if not retain_graph:
            node.ctx = _FREED
            node.versions = ()
    return found


def grad(outputs: Tensor, inputs, grad_outputs=None, retain_graph: bool = False):
    """Gradients of ``outputs`` with respect to ``inputs`` (a Tensor or a sequence), returned
    as a tuple of Tensors (None where an input does not affect the output), as
    ``torch.autograd.grad``. No ``.grad`` is changed. Saliency maps and attacks use this for
    the gradient with respect to images.
    """
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    g0 = _root_grad(outputs, grad_outputs)
    found = _run_backward(outputs, g0, retain_graph, targets=inputs)
    return tuple(None if g is None else Tensor._make(g, False) for g in found)


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


# Tensor is defined in cnnlab.tensor, which builds on this engine; it is bound here at the
# end so that ``from cnnlab.autograd import Tensor, tensor`` keeps working.
from cnnlab.tensor import Tensor, tensor  # noqa: E402

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
casts them to the input's dtype and checks their shapes (the sweep: :mod:`cnnlab.backward`).
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


def tracing() -> bool:
    """Whether a :func:`trace` callback is watching the ops run now."""
    return bool(_state.tracers)


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
        arrays = [x.array if isinstance(x, Tensor) else x for x in inputs]
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


def _versions(inputs) -> list:
    # an op's output is never overwritten in memory (cnnlab.inplace gives it a new array):
    # once it is gone, the array its op saved is intact, so a weak reference does; a leaf
    # (an image, a parameter) may be overwritten in place, so it is held
    return [
        (i, x if x._node is None else weakref.ref(x), x._version)
        for i, x in enumerate(inputs)
        if isinstance(x, Tensor)
    ]


# The reverse sweep lives in cnnlab.backward; ``grad`` is part of this module's API.
from cnnlab.backward import grad  # noqa: E402, F401

# Tensor is defined in cnnlab.tensor, which builds on this engine; it is bound here at the
# end so that ``from cnnlab.autograd import Tensor, tensor`` keeps working.
from cnnlab.tensor import Tensor, tensor  # noqa: E402

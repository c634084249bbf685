"""The reverse sweep of the engine (:mod:`cnnlab.autograd` has the op contract and the graph's
nodes): from a root gradient, visit the nodes in reverse topological order, run each op's
backward (or a replacement from ``override_backward``), check, un-broadcast and cast the
gradients it returns, and sum them per input. ``Tensor.backward`` and :func:`grad` call it.
"""

from __future__ import annotations

import weakref

from cnnlab import backend, threads
from cnnlab.autograd import _FREED, Node, _state

__all__ = ["grad"]


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


def _sum(a, b):
    """``a + b``, two gradients of one tensor (a residual block's input gets one from each
    branch), by the add op's kernel: two large images alike are added on all threads."""
    from cnnlab.ops.elementwise import sum_gradients  # ops build on this module

    return sum_gradients(a, b)


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
                    g = r.array if isinstance(r, Tensor) else r
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
        in_grads = (bw or node.fn.backward)(node.ctx, g)
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
                grads[key] = _sum(prev, gi)
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
    xp = backend.get_array_module(t.array)
    if g is None:
        if t.array.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs; got shape {t.shape}"
            )
        return xp.ones_like(t.array)
    g = g.array if isinstance(g, Tensor) else xp.asarray(g, dtype=t.dtype)
    if g.shape != t.shape:
        raise ValueError(f"gradient of shape {g.shape} given for a tensor of shape {t.shape}")
    return g.astype(t.dtype, copy=False)


from cnnlab.tensor import Tensor  # noqa: E402  (Tensor builds on this module)

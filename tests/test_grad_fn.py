"""Tensor.grad_fn: names, next_functions down to AccumulateGrad, None for leaves, compared
with PyTorch's graph for the same expression."""

import numpy as np

import cnnlab
from tests.helpers import requires_torch, torch


def _walk(fn, depth=0, out=None):
    out = [] if out is None else out
    if fn is None:
        out.append((depth, None))
        return out
    out.append((depth, fn.name()))
    for nxt, idx in fn.next_functions:
        assert idx == 0
        _walk(nxt, depth + 1, out)
    return out


@requires_torch
def test_graph_of_primitives_matches_torch():
    def build(m, a, b, c):
        return ((a * b).exp() + c.sqrt()).sum()

    x = np.array([0.1, 0.2], np.float32)
    ours = [cnnlab.tensor(x, requires_grad=True) for _ in range(2)] + [cnnlab.tensor(x + 1)]
    theirs = [torch.tensor(x, requires_grad=True) for _ in range(2)] + [torch.tensor(x + 1)]
    o, t = build(cnnlab, *ours), build(torch, *theirs)
    assert _walk(o.grad_fn) == _walk(t.grad_fn)


def test_leaves_and_untracked_tensors_have_no_grad_fn():
    w = cnnlab.ones(2, requires_grad=True)
    assert w.grad_fn is None and cnnlab.ones(2).grad_fn is None
    with cnnlab.no_grad():
        assert (w * 2).grad_fn is None
    y = w * 2
    (acc, _), (none, _) = y.grad_fn.next_functions
    assert acc.variable is w and none is None
    assert y.grad_fn == y.grad_fn and y.grad_fn.name() == "MulBackward0"
    assert "MulBackward0 object" in repr(y.grad_fn) and acc.next_functions == ()

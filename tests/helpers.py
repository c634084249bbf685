"""Shared test helpers: PyTorch parity for forward and backward, and float64 gradcheck."""

from __future__ import annotations

import numpy as np
import pytest

import cnnlab

try:
    import torch
except Exception:  # pragma: no cover - depends on the machine
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def seeded(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def torch_parity(fn, torch_fn, arrays, *, rtol=1e-5, atol=1e-5, grad_inputs=None, out_grad_seed=1):
    """Run ``fn`` on cnnlab Tensors and ``torch_fn`` on torch tensors made from ``arrays``;
    compare outputs and the gradients of ``sum(c * out)`` for a fixed random ``c``.

    ``arrays``: list of ndarrays (float arrays get requires_grad unless ``grad_inputs`` says
    otherwise; int arrays are passed as constants).
    """
    assert torch is not None
    if grad_inputs is None:
        grad_inputs = [a is not None and np.asarray(a).dtype.kind == "f" for a in arrays]
    ours = [
        None if a is None else cnnlab.tensor(a, requires_grad=bool(g))
        for a, g in zip(arrays, grad_inputs)
    ]
    theirs = [
        None if a is None else torch.tensor(a, requires_grad=bool(g))
        for a, g in zip(arrays, grad_inputs)
    ]
    out = fn(*ours)
    ref = torch_fn(*theirs)
    np.testing.assert_allclose(
        out.numpy(),
        ref.detach().numpy(),
        rtol=rtol,
        atol=atol,
        err_msg="forward differs from PyTorch",
    )
    if not any(grad_inputs):
        return
    c = np.random.default_rng(out_grad_seed).standard_normal(out.shape).astype(out.dtype)
    (out * cnnlab.tensor(c)).sum().backward()
    (ref * torch.tensor(c)).sum().backward()
    for i, (o, t, g) in enumerate(zip(ours, theirs, grad_inputs)):
        if not g:
            continue
        assert o.grad is not None, f"input {i}: no gradient"
        np.testing.assert_allclose(
            o.grad,
            t.grad.numpy(),
            rtol=rtol,
            atol=atol,
            err_msg=f"gradient of input {i} differs from PyTorch",
        )


def check_gradients(fn, arrays, **kw):
    """float64 numerical gradient check of ``fn`` at ``arrays`` (float ones are checked)."""
    inputs = [
        cnnlab.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)
        if a is not None and np.asarray(a).dtype.kind == "f"
        else (None if a is None else cnnlab.tensor(a))
        for a in arrays
    ]
    report = cnnlab.gradcheck(fn, inputs, **kw)
    assert report.passed, str(report)

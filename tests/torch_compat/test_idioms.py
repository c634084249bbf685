"""Everyday PyTorch idioms, each written as the official tutorials and examples write it,
run twice: with ``torch`` bound to cnnlab and with ``torch`` bound to real PyTorch. Where
PyTorch gives a result, cnnlab's must equal it (values, shapes and dtypes).

The snippets come from the shapes of code in the tensors, autograd, build-model,
optimisation, neural-networks, polynomial and CIFAR-10 tutorials and the MNIST example
(learnt from, not copied). An idiom that needs something outside this branch is an
expected failure that names what it waits for; it turns into a pass once that lands.
"""

from __future__ import annotations

import numpy as np
import pytest

import cnnlab
from tests.helpers import torch as real_torch
from tests.torch_compat import idioms_tensors, idioms_training  # noqa: F401 - registers
from tests.torch_compat.registry import IDIOMS


# --------------------------------------------------------------------------- runner
def _dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")


def _same(ours, theirs, where: str = "result") -> None:
    """Assert cnnlab's result equals PyTorch's: tensors by dtype, shape and value."""
    if real_torch is not None and isinstance(theirs, real_torch.Tensor):
        assert isinstance(ours, cnnlab.Tensor), f"{where}: expected a Tensor, got {ours!r}"
        assert _dtype_name(ours.dtype) == _dtype_name(theirs.dtype), f"{where}: dtype"
        np.testing.assert_allclose(
            ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=where
        )
    elif real_torch is not None and isinstance(theirs, (real_torch.device, real_torch.dtype)):
        assert _dtype_name(theirs) == _dtype_name(ours), where
    elif isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(theirs), f"{where}: length"
        for i, (o, t) in enumerate(zip(ours, theirs)):
            _same(o, t, f"{where}[{i}]")
    elif isinstance(theirs, float):
        assert ours == pytest.approx(theirs, rel=1e-5, abs=1e-6), where
    elif isinstance(theirs, np.ndarray):
        np.testing.assert_allclose(np.asarray(ours), theirs, rtol=1e-5, err_msg=where)
    else:
        assert ours == theirs, f"{where}: {ours!r} != {theirs!r}"


def _params():
    out = []
    for name, (_, _, waits_for) in IDIOMS.items():
        marks = (
            [pytest.mark.xfail(reason=f"waits for {waits_for}", strict=True)] if waits_for else []
        )
        out.append(pytest.param(name, marks=marks, id=name))
    return out


@pytest.mark.parametrize("name", _params())
def test_idiom(name):
    fn, ref, _ = IDIOMS[name]
    ours = fn(cnnlab)
    if ref and real_torch is not None:
        _same(ours, fn(real_torch))


def test_the_suite_has_the_issue_s_57_idioms_and_55_run_here():
    assert len(IDIOMS) >= 57
    waiting = [n for n, (_, _, w) in IDIOMS.items() if w]
    assert len(IDIOMS) - len(waiting) >= 55, waiting

"""oneDNN's matmul (a linear layer's products) against NumPy's dot: row- and column-major
operands as they lie, the same numbers to float32 rounding, and clear refusals."""

from __future__ import annotations

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from cnnlab import kernels
from tests.helpers import requires_torch, seeded, torch

onednn = pytest.importorskip("cnnlab.kernels.onednn")
pytestmark = pytest.mark.skipif(not onednn.available(), reason="oneDNN does not load here")


def _m(*shape, seed=0):
    return seeded(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("a_t", [False, True])
@pytest.mark.parametrize("b_t", [False, True])
def test_matmul_reads_transposed_views_as_they_lie(a_t, b_t):
    a = _m(256, 400).T.copy().T if a_t else _m(256, 400)  # column-major when a_t
    b = _m(64, 400, seed=1).T if b_t else _m(400, 64, seed=1)
    got = onednn.matmul(a, b)
    assert got.flags.c_contiguous and got.dtype == np.float32
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-4)
    assert onednn.supports("matmul", a, b)


def test_matmul_refuses_what_it_should_not_run():
    a, b = _m(64, 64), _m(64, 64, seed=1)
    assert not onednn.supports("matmul", a[:, ::2], b[::2])  # neither row- nor column-major
    assert not onednn.supports("matmul", _m(32, 256), _m(256, 128))  # NumPy's dot is quicker
    assert not onednn.supports("matmul", a.astype(np.float64), b)
    with pytest.raises(ValueError, match="do not chain"):
        onednn.matmul(a, _m(32, 8))


@requires_torch
def test_a_linear_layer_on_onednn_matches_pytorch_forward_and_backward():
    x = cnnlab.tensor(_m(128, 6272), requires_grad=True)
    w = cnnlab.tensor(_m(10, 6272, seed=1) * 0.01, requires_grad=True)
    b = cnnlab.tensor(_m(10, seed=2), requires_grad=True)
    y = F.linear(x, w, b)
    g = _m(128, 10, seed=3)
    y.backward(cnnlab.tensor(g))
    assert kernels.info()["last"]["matmul/float32"]["backend"] == "onednn"
    tx, tw, tb = (torch.tensor(t.numpy(), requires_grad=True) for t in (x, w, b))
    ty = torch.nn.functional.linear(tx, tw, tb)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
    for ours, theirs in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-4, atol=1e-3)

"""oneDNN batch norm (training forward, inference, backward; with and without affine) against
cnnlab's NumPy batch_norm (forward, running statistics, autograd backward) and PyTorch."""

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from cnnlab.kernels import onednn
from cnnlab.kernels.onednn import norm as onednn_norm
from tests.helpers import requires_torch, seeded, torch

pytestmark = pytest.mark.skipif(
    not onednn.available(), reason=f"oneDNN kernels unavailable: {onednn.why_unavailable()}"
)

SHAPES = [(4, 3, 5, 6), (1, 8, 3, 3), (6, 4), (3, 5, 7), (16, 20, 8, 8), (2, 32, 7, 5)]
EPS = 1e-5


def _case(shape, affine, seed=0):
    rng = seeded(seed)
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)
    c = shape[1]
    w = rng.standard_normal(c).astype(np.float32) if affine else None
    b = rng.standard_normal(c).astype(np.float32) if affine else None
    gy = rng.standard_normal(shape).astype(np.float32)
    return x, w, b, gy


def _close(a, b, what, tol=1e-4):
    scale = max(1.0, float(np.abs(b).max()))
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * scale, err_msg=what)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_matches_cnnlab_numpy(shape, affine):
    x, w, b, gy = _case(shape, affine)
    y, mean, var = onednn.batch_norm_train_forward(x, w, b, eps=EPS)
    gx, gw, gb = onednn.batch_norm_backward(gy, x, w, mean, var, eps=EPS)
    c, m = shape[1], x.size // shape[1]
    tx = cnnlab.tensor(x.astype(np.float64), requires_grad=True)
    tw, tb = (
        None if v is None else cnnlab.tensor(v.astype(np.float64), requires_grad=True)
        for v in (w, b)
    )
    rm, rv = np.zeros(c), np.ones(c)
    ref = F.batch_norm(tx, rm, rv, tw, tb, training=True, momentum=1.0, eps=EPS)
    (ref * cnnlab.tensor(gy.astype(np.float64))).sum().backward()
    _close(y, ref.numpy(), "forward")
    _close(mean, rm, "batch mean")
    _close(var * m / (m - 1), rv, "unbiased variance (the running-var update)")
    _close(gx, tx.grad, "input gradient")
    if affine:
        _close(gw, tw.grad, "weight gradient")
        _close(gb, tb.grad, "bias gradient")
    else:
        assert gw is None and gb is None
    y_eval = onednn.batch_norm_inference(
        x, w, b, rm.astype(np.float32), rv.astype(np.float32), eps=EPS
    )
    ref_eval = F.batch_norm(cnnlab.tensor(x.astype(np.float64)), rm, rv, tw, tb, eps=EPS)
    _close(y_eval, ref_eval.numpy(), "inference")


@requires_torch
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_batch_norm_matches_torch(shape, affine):
    x, w, b, gy = _case(shape, affine, seed=1)
    y, mean, var = onednn.batch_norm_train_forward(x, w, b, eps=EPS)
    gx, gw, gb = onednn.batch_norm_backward(gy, x, w, mean, var, eps=EPS)
    tx = torch.tensor(x, requires_grad=True)
    tw, tb = (None if v is None else torch.tensor(v, requires_grad=True) for v in (w, b))
    ref = torch.nn.functional.batch_norm(tx, None, None, tw, tb, training=True, eps=EPS)
    ref.backward(torch.tensor(gy))
    _close(y, ref.detach().numpy(), "forward")
    _close(gx, tx.grad.numpy(), "input gradient")
    if affine:
        _close(gw, tw.grad.numpy(), "weight gradient")
        _close(gb, tb.grad.numpy(), "bias gradient")
    rm, rv = mean * 0.5, var + 0.5
    ref_eval = torch.nn.functional.batch_norm(
        torch.tensor(x), torch.tensor(rm), torch.tensor(rv), tw, tb, eps=EPS
    )
    _close(
        onednn.batch_norm_inference(x, w, b, rm, rv, eps=EPS),
        ref_eval.detach().numpy(),
        "inference",
    )


def test_batch_norm_bias_without_weight_and_errors():
    x, w, b, gy = _case((4, 3, 5, 6), True)
    y, mean, var = onednn.batch_norm_train_forward(x, None, b, eps=EPS)
    xhat = (x - mean.reshape(1, -1, 1, 1)) / np.sqrt(var.reshape(1, -1, 1, 1) + EPS)
    _close(y, xhat + b.reshape(1, -1, 1, 1), "bias only")
    _, gw, gb = onednn.batch_norm_backward(gy, x, None, mean, var, eps=EPS, bias=True)
    assert gw is None
    _close(gb, gy.sum(axis=(0, 2, 3)), "bias gradient")
    with pytest.raises(ValueError, match=r"expected weight of shape \(3,\)"):
        onednn.batch_norm_train_forward(x, w[:2], b, eps=EPS)
    assert not onednn.supports("batch_norm_train_forward", x.astype(np.float64), w, b, eps=EPS)
    assert onednn.supports("batch_norm_train_forward", x, w, b, eps=EPS)
    # inference runs as a per-channel affine map (affine.py), on every shape
    assert onednn.supports("batch_norm_inference", x, w, b, w, np.abs(w), eps=EPS)
    assert onednn.supports("batch_norm_inference", x[:, :, 0], w, b, w, np.abs(w), eps=EPS)
    with pytest.raises(ValueError, match=r"expected var of shape \(3,\)"):
        onednn.batch_norm_inference(x, w, b, w, w[:2], eps=EPS)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_inference_affine_matches_the_batch_norm_primitive(shape, affine):
    """The folded map (x * scale + shift) and oneDNN's batch-norm primitive on the blocked
    layout agree: the fold changes rounding only."""
    x, w, b, _ = _case(shape, affine, seed=2)
    rng = seeded(3)
    mean = rng.standard_normal(shape[1]).astype(np.float32)
    var = (rng.random(shape[1]) + 0.1).astype(np.float32)
    folded = onednn.batch_norm_inference(x, w, b, mean, var, eps=EPS)
    primitive = onednn_norm.batch_norm_inference_primitive(x, w, b, mean, var, eps=EPS)
    _close(folded, primitive, "inference: folded affine against the primitive", tol=1e-5)

"""Gradient clipping against a NumPy reference and torch.nn.utils."""

import math

import numpy as np
import pytest

from cnnlab.nn.parameter import Parameter
from cnnlab.optim import clip_grad_norm_, clip_grad_value_
from tests.helpers import requires_torch, seeded, torch

SHAPES = [(3, 4), (5,), (2, 1, 3)]
NORM_TYPES = [2.0, 1.0, 3.0, math.inf]
MAX_NORMS = [0.5, 1e3]  # one that clips, one that does not


def make_params(dtype=np.float32, scale=1.0):
    rng = seeded(7)
    params = []
    for shape in SHAPES:
        p = Parameter(rng.standard_normal(shape).astype(dtype))
        p.grad = (scale * rng.standard_normal(shape)).astype(dtype)
        params.append(p)
    params.append(Parameter(np.zeros(2, dtype=dtype)))  # no gradient: skipped
    return params


@pytest.mark.parametrize("norm_type", NORM_TYPES)
@pytest.mark.parametrize("max_norm", MAX_NORMS)
def test_clip_grad_norm_against_numpy(norm_type, max_norm):
    params = make_params(np.float64)
    flat = np.concatenate([np.asarray(p.grad).ravel() for p in params if p.grad is not None])
    ref_total = (
        np.abs(flat).max()
        if norm_type == math.inf
        else np.sum(np.abs(flat) ** norm_type) ** (1 / norm_type)
    )
    before = [np.array(p.grad) for p in params[:-1]]
    total = clip_grad_norm_(params, max_norm, norm_type)
    assert isinstance(total, float)
    assert math.isclose(total, ref_total, rel_tol=1e-12)
    coef = min(max_norm / (ref_total + 1e-6), 1.0)
    for p, g in zip(params, before):
        np.testing.assert_allclose(p.grad, g * coef, rtol=1e-12)
    assert params[-1].grad is None


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_type", NORM_TYPES)
@pytest.mark.parametrize("max_norm", MAX_NORMS)
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype):
    params = make_params(dtype)
    theirs = [torch.tensor(p.array, requires_grad=True) for p in params]
    for p, t in zip(params, theirs):
        t.grad = None if p.grad is None else torch.tensor(np.asarray(p.grad))
    total = clip_grad_norm_(params, max_norm, norm_type)
    ref = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    assert math.isclose(total, float(ref), rel_tol=tol)
    for p, t in zip(params, theirs):
        if p.grad is None:
            assert t.grad is None
            continue
        assert p.grad.dtype == dtype
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=tol, atol=tol)


def test_clip_grad_norm_single_tensor_and_no_grads():
    p = Parameter(np.zeros(4))
    assert clip_grad_norm_([p], 1.0) == 0.0
    p.grad = np.array([3.0, 4.0, 0.0, 0.0])
    assert clip_grad_norm_(p, 1.0) == 5.0
    np.testing.assert_allclose(p.grad, [0.6, 0.8, 0, 0], rtol=1e-6)


def test_clip_grad_norm_nonfinite():
    params = make_params()
    params[0].grad.array[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    assert np.asarray(params[1].grad).any(), "an error must leave the gradients untouched"
    assert clip_grad_norm_(params, 1.0) == math.inf


@pytest.mark.parametrize("clip_value", [0.1, 0.7, 5.0])
def test_clip_grad_value(clip_value):
    params = make_params(scale=2.0)
    before = [np.array(p.grad) for p in params[:-1]]
    grads = [p.grad for p in params[:-1]]
    assert clip_grad_value_(params, clip_value) is None
    for p, g, b in zip(params, grads, before):
        assert p.grad is g  # in place
        np.testing.assert_array_equal(p.grad, np.clip(b, -clip_value, clip_value))
    if torch is not None:
        t = torch.tensor(before[0], requires_grad=True)
        t.grad = torch.tensor(before[0])
        torch.nn.utils.clip_grad_value_([t], clip_value)
        np.testing.assert_array_equal(params[0].grad, t.grad.numpy())

"""PyTorch's type promotion in cnnlab's arithmetic (cnnlab.promotion), against torch."""

from __future__ import annotations

import operator

import numpy as np
import pytest

import cnnlab
from cnnlab.promotion import promote_types, result_type
from tests.helpers import requires_torch, torch

OPS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv}
ARRAYS = {
    "f32": np.array([1.5, -2.0, 3.0], np.float32),
    "f64": np.array([1.5, -2.0, 3.0], np.float64),
    "i64": np.array([1, -2, 3], np.int64),
    "i32": np.array([1, -2, 3], np.int32),
    "u8": np.array([1, 2, 255], np.uint8),
    "b": np.array([True, False, True]),
    "0d-f64": np.array(2.0),
    "0d-i64": np.array(2, np.int64),
}
OTHERS = [*ARRAYS, 2, 0.5, True]


def _as(framework, x):
    if not isinstance(x, str):
        return x
    a = ARRAYS[x]
    return cnnlab.tensor(a) if framework == "cnnlab" else torch.from_numpy(a.copy())


@requires_torch
@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("left", ["f32", "i64", "u8", "b", "0d-f64"])
@pytest.mark.parametrize("right", OTHERS)
def test_arithmetic_gives_pytorchs_dtype_and_values(op, left, right):
    if op == "sub" and ("b" in (left, right) or right is True):
        pytest.skip("PyTorch refuses subtraction of booleans")
    ours = OPS[op](_as("cnnlab", left), _as("cnnlab", right))
    theirs = OPS[op](_as("torch", left), _as("torch", right))
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


@requires_torch
@pytest.mark.parametrize("right", ["f32", "i64", 2, 0.5, "0d-f64"])
def test_reflected_and_power_promote_too(right):
    fns = [lambda a, b: b - a, lambda a, b: b / a]
    if right != "i64":  # an integer to a negative integer power is an error in NumPy
        fns.append(lambda a, b: a**b)
    for fn in fns:
        ours = fn(_as("cnnlab", "i64"), _as("cnnlab", right))
        theirs = fn(_as("torch", "i64"), _as("torch", right))
        assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))


def test_gradients_flow_through_a_promoted_operand():
    w = cnnlab.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    counts = cnnlab.tensor(np.array([3, 4], np.int64))
    y = (w * counts).sum()
    assert y.dtype == np.float32
    y.backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 4.0])


def test_promote_types_and_result_type_rules():
    assert promote_types(np.float32, np.int64) == np.float32
    assert promote_types(np.uint8, np.int8) == np.int16
    assert promote_types(bool, np.int32) == np.int32
    assert result_type(np.zeros(2, np.int32), np.array(5, np.int64)) == np.int32
    assert result_type(np.zeros(2, np.int32), np.array(5.0)) == np.float64
    assert result_type(np.zeros(2, np.int32), 5.0) == np.float32

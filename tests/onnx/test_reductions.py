"""``cnnlab.onnx.reductions``: ONNX's rules where cnnlab was silently wrong or crashed:
empty ``axes`` reduce every dim (or pass through with ``noop_with_empty_axes``), a max over
an empty set is -inf, boolean and integer inputs keep their type."""

from __future__ import annotations

import numpy as np
import pytest

from tests.onnx.single_node import run_node

X = np.arange(24, dtype=np.float32).reshape(2, 3, 4)


@pytest.mark.parametrize("op,fn", [("ReduceSum", np.sum), ("ReduceMean", np.mean)])
def test_empty_axes_input_reduces_every_dim(op, fn):
    y = run_node(op, {"x": X, "axes": np.array([], np.int64)}, keepdims=0)
    np.testing.assert_allclose(y, fn(X))
    same = run_node(op, {"x": X, "axes": np.array([], np.int64)}, noop_with_empty_axes=1)
    np.testing.assert_array_equal(same, X)


def test_axes_given_at_run_time():
    y = run_node("ReduceMax", {"x": X, "axes": np.array([-1, 0], np.int64)}, keepdims=1)
    np.testing.assert_array_equal(y, X.max(axis=(0, 2), keepdims=True))


def test_max_over_an_empty_set_is_minus_infinity():
    y = run_node("ReduceMax", {"x": np.zeros((2, 0, 4), np.float32), "axes": np.array([1])})
    np.testing.assert_array_equal(y, np.full((2, 1, 4), -np.inf, np.float32))


def test_boolean_max_stays_boolean():
    x = np.array([[True, False], [False, False]])
    y = run_node("ReduceMax", {"x": x, "axes": np.array([1])}, keepdims=0)
    assert y.dtype == bool
    np.testing.assert_array_equal(y, [True, False])

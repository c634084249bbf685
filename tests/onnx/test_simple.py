"""``cnnlab.onnx.simple``: ONNX's type rules where cnnlab was silently wrong (integer Div
did true division, Pow changed the base's dtype, Dropout ignored training_mode) and where it
crashed (integer Clip); the new activations against onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest

from tests.onnx.single_node import node_model, run_node


def test_integer_div_truncates_toward_zero_in_the_input_type():
    a = np.array([7, -7, 7, -7, 6], np.int32)
    b = np.array([2, 2, -2, -2, 3], np.int32)
    y = run_node("Div", {"a": a, "b": b})
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, [3, -3, -3, 3, 2])


def test_integer_division_by_zero_is_one_line_naming_the_node():
    with pytest.raises(ValueError, match=r"^node 'n' \(Div\): integer division by zero$"):
        run_node("Div", {"a": np.array([1], np.int64), "b": np.array([0], np.int64)})


@pytest.mark.parametrize(
    "base,exponent,expected",
    [
        (np.array([2, 3], np.int64), np.array([3.0, 2.0], np.float32), np.array([8, 9], np.int64)),
        (np.array([2, 3], np.float32), np.array([3, 2], np.int64), np.array([8, 9], np.float32)),
        (np.array([2, 3], np.float32), np.array([3, 2], np.int32), np.array([8, 9], np.float32)),
    ],
)
def test_pow_keeps_the_base_type(base, exponent, expected):
    y = run_node("Pow", {"x": base, "y": exponent})
    assert y.dtype == expected.dtype
    np.testing.assert_array_equal(y, expected)


def test_dropout_in_training_mode_is_refused_and_inference_gives_a_full_mask():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"'n' \(Dropout\): training_mode=1"):
        run_node("Dropout", {"x": x, "r": np.array(0.5, np.float32), "t": np.array(True)})
    y, mask = run_node("Dropout", {"x": x, "r": np.array(0.5, np.float32)}, n_out=2)
    np.testing.assert_array_equal(y, x)
    assert mask.dtype == bool and mask.all()


def test_integer_clip_stays_integer():
    x = np.array([-5, 0, 5, 10], np.int8)
    y = run_node("Clip", {"x": x, "lo": np.array(-2, np.int8), "hi": np.array(6, np.int8)})
    assert y.dtype == np.int8
    np.testing.assert_array_equal(y, [-2, 0, 5, 6])


@pytest.mark.parametrize(
    "op,attrs",
    [
        ("Gelu", {}),
        ("Gelu", {"approximate": "tanh"}),
        ("Softplus", {}),
        ("Erf", {}),
        ("PRelu", {}),
        ("Where", {}),
    ],
)
def test_activations_match_onnxruntime(op, attrs):
    import onnxruntime as ort

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((2, 3, 4)) * 3).astype(np.float32)
    inputs = {"x": x}
    if op == "PRelu":
        inputs["slope"] = rng.random((3, 1)).astype(np.float32)  # per channel of (2, 3, 4)
    if op == "Where":
        inputs = {"c": x > 0, "x": x, "z": -x}
    proto = node_model(op, inputs, opset=20, **attrs)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, inputs)[0]
    np.testing.assert_allclose(run_node(op, inputs, opset=20, **attrs), want, atol=1e-6, rtol=1e-5)

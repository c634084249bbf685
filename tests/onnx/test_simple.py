"""``cnnlab.onnx.simple``: ONNX's type rules where cnnlab was silently wrong (integer Div
did true division, Pow changed the base's dtype, Dropout ignored training_mode) and where it
crashed (integer Clip); Dropout's training mode; the new activations against onnxruntime."""

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


def test_dropout_inference_is_the_identity_with_a_full_mask():
    x = np.ones((2, 3), np.float32)
    y, mask = run_node("Dropout", {"x": x, "r": np.array(0.5, np.float32)}, n_out=2)
    np.testing.assert_array_equal(y, x)
    assert mask.dtype == bool and mask.all()


@pytest.mark.parametrize("seed", [None, 3])
def test_dropout_in_training_mode_drops_a_share_ratio_and_scales_the_rest(seed):
    x = np.random.default_rng(0).standard_normal((100, 100)).astype(np.float32)
    inputs = {"x": x, "r": np.array(0.75, np.float32), "t": np.array(True)}
    attrs = {} if seed is None else {"seed": seed}
    y, keep = run_node("Dropout", inputs, n_out=2, **attrs)
    assert keep.dtype == bool and abs(keep.mean() - 0.25) < 0.02  # 4.6 standard deviations
    np.testing.assert_allclose(y, x * keep * 4.0, rtol=1e-6)
    y2, keep2 = run_node("Dropout", inputs, n_out=2, **attrs)
    assert np.array_equal(keep, keep2) == (seed is not None)  # a seed fixes the mask


def test_dropout_in_training_mode_passes_gradients_through_the_kept_elements():
    import cnnlab
    from cnnlab.onnx import load
    from tests.onnx.single_node import node_model

    x = np.ones((4, 5), np.float32)
    r, t = np.array(0.5, np.float32), np.array(True)
    model = load(node_model("Dropout", {"x": x, "r": r, "t": t}, n_out=2, seed=1))
    xc = cnnlab.tensor(x, requires_grad=True)
    y, keep = model(xc, cnnlab.tensor(r), cnnlab.tensor(t))
    y.sum().backward()
    np.testing.assert_array_equal(xc.grad.numpy(), np.asarray(keep) * 2.0)


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

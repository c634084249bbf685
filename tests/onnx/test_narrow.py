"""``cnnlab.onnx.narrow``: Cast to and from ONNX's narrow dtypes (float8, e8m0, int4 ...),
with ONNX's saturation and rounding, and the refusal of any other op reading such a value."""

from __future__ import annotations

import numpy as np
import pytest

from tests.onnx.single_node import run_node

ml_dtypes = pytest.importorskip("ml_dtypes")


@pytest.mark.parametrize(
    "to,saturate,expected",
    [
        (17, 1, [448.0, -448.0, 448.0, 1.0]),  # FLOAT8E4M3FN: no infinity, largest 448
        (17, 0, [np.nan, np.nan, np.nan, 1.0]),
        (19, 1, [1024.0, -57344.0, 57344.0, 1.0]),  # FLOAT8E5M2: largest finite 57344
        (19, 0, [1024.0, -np.inf, np.inf, 1.0]),
    ],
)
def test_cast_to_float8_saturates_as_onnx_says(to, saturate, expected):
    x = np.array([1000.0, -1e6, np.inf, 1.0], np.float32)
    y = run_node("Cast", {"x": x}, opset=21, to=to, saturate=saturate)
    assert y.dtype.name == ("float8_e4m3fn" if to == 17 else "float8_e5m2")
    np.testing.assert_array_equal(y.astype(np.float32), np.array(expected, np.float32))


@pytest.mark.parametrize(
    "mode,expected",
    [("up", [4, 4, 4, 0.5]), ("down", [2, 2, 2, 0.25]), ("nearest", [2, 4, 4, 0.25])],
)
def test_cast_to_e8m0_keeps_the_exponent_and_rounds_by_round_mode(mode, expected):
    # 2.5 = 1.25 * 2^1, 3 = 1.5 * 2^1 (a tie: up for a normal number), 3.5, 0.3 = 1.2 * 2^-2
    x = np.array([2.5, 3.0, 3.5, 0.3], np.float32)
    y = run_node("Cast", {"x": x}, opset=25, to=24, round_mode=mode)
    assert y.dtype.name == "float8_e8m0fnu"
    np.testing.assert_array_equal(y.astype(np.float32), np.array(expected, np.float32))


def test_int4_round_trips_through_cast_like():
    x = np.arange(-8, 8, dtype=np.float32)
    like = np.zeros(0, ml_dtypes.int4)
    y = run_node("CastLike", {"x": x, "like": like}, opset=21)
    assert y.dtype.name == "int4"
    back = run_node("CastLike", {"x": y, "like": np.zeros(0, np.int8)}, opset=21)
    assert back.dtype == np.int8
    np.testing.assert_array_equal(back, x.astype(np.int8))


def test_another_op_reading_a_narrow_value_is_refused_in_one_line():
    from onnx import TensorProto, helper

    from cnnlab.onnx import load

    graph = helper.make_graph(
        [
            helper.make_node("Cast", ["x"], ["h"], name="to_bf16", to=TensorProto.BFLOAT16),
            helper.make_node("Relu", ["h"], ["y"], name="act"),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.BFLOAT16, [2])],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    with pytest.raises(ValueError, match=r"'act' \(Relu\): input 'h' has a narrow dtype") as e:
        load(proto)
    assert "\n" not in str(e.value)

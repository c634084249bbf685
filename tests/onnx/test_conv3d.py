"""``cnnlab.onnx.conv3d``: ONNX's 3-D Conv and ConvTranspose, composites of cnnlab's 2-D
ops, against onnxruntime (strides, dilations, pads, groups) and a float64 gradcheck."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import check_gradients
from tests.onnx.single_node import node_model

# op, input channels, weight shape, attributes
CASES = [
    ("Conv", 2, (4, 2, 3, 2, 3), dict(strides=[2, 1, 2], pads=[1, 0, 1, 0, 1, 1])),
    ("Conv", 4, (4, 2, 2, 3, 2), dict(dilations=[2, 1, 1], group=2)),
    ("ConvTranspose", 2, (2, 3, 3, 2, 3), dict(strides=[2, 1, 2], pads=[1, 0, 0, 0, 1, 1])),
    ("ConvTranspose", 2, (2, 2, 2, 3, 2), dict(strides=[3, 2, 1], dilations=[2, 1, 1], group=2)),
    ("ConvTranspose", 2, (2, 3, 2, 2, 2), dict(strides=[2, 2, 2], output_padding=[1, 0, 1])),
]


def _arrays(op, channels, w_shape, attrs, dtype, seed=0):
    rng = np.random.default_rng(seed)
    out = w_shape[1] * attrs.get("group", 1) if op == "ConvTranspose" else w_shape[0]
    shapes = {"x": (2, channels, 5, 4, 5), "w": w_shape, "b": (out,)}
    return {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}


@pytest.mark.parametrize("op,channels,w_shape,attrs", CASES)
def test_3d_conv_and_transposed_conv_match_onnxruntime(op, channels, w_shape, attrs):
    import onnxruntime as ort

    from cnnlab.onnx.backend import CnnlabBackend

    inputs = _arrays(op, channels, w_shape, attrs, np.float32)
    proto = node_model(op, inputs, opset=17, **attrs)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    want = session.run(None, inputs)[0]
    got = CnnlabBackend.run_model(proto, list(inputs.values()))[0]
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("op,channels,w_shape,attrs", [CASES[0], CASES[3]])
def test_3d_conv_and_transposed_conv_pass_a_float64_gradcheck(op, channels, w_shape, attrs):
    from cnnlab.onnx import load

    inputs = _arrays(op, channels, w_shape, attrs, np.float64, seed=1)
    inputs["x"] = inputs["x"][:1, :, :3, :3, :3]
    model = load(node_model(op, inputs, opset=17, **attrs))
    check_gradients(lambda x, w, b: model(x, w, b), list(inputs.values()))

"""The import op table (:data:`cnnlab.onnx.ops.IMPORTERS`, its rules in cnnlab/onnx/layers.py
and simple.py) on hand-built graphs: outputs against onnxruntime and a float64 gradient check
across opsets, and one line naming the node for unsupported ops and attributes and for a
malformed node."""

from __future__ import annotations

import numpy as np
import pytest

import cnnlab
from cnnlab.onnx import load


def _graph(nodes, inits=()):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph(nodes, "g", [x], [y], initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_every_unsupported_op_is_named_with_its_node_at_once():
    from onnx import helper

    proto = _graph(
        [
            helper.make_node("Relu", ["x"], ["a"], name="ok"),
            helper.make_node("Einsum", ["a"], ["b"], name="mix", equation="ij->ji"),
            helper.make_node("Det", ["b"], ["y"], name="det"),
        ]
    )
    with pytest.raises(ValueError, match=r"unsupported ONNX ops in 2 nodes: mix \(Einsum\), det"):
        load(proto)


def test_unsupported_attributes_are_named_with_their_node():
    from onnx import helper

    proto = _graph(
        [
            helper.make_node("Cast", ["x"], ["a"], name="text", to=8),
            helper.make_node(
                "MaxPool",
                ["a"],
                ["y", "i"],
                name="pool",
                kernel_shape=[2, 2],
                auto_pad="SAME_UPPER",
            ),
        ],
    )
    with pytest.raises(ValueError, match=r"'text' \(Cast\): to=STRING is not a supp.*'pool'"):
        load(proto)


def test_asymmetric_padding_and_auto_pad_match_onnxruntime(tmp_path):
    import onnx
    from onnx import helper, numpy_helper

    from tests.onnx.conftest import run_onnxruntime

    w = np.random.default_rng(0).standard_normal((4, 3, 3, 3)).astype(np.float32)
    proto = _graph(
        [
            helper.make_node("Conv", ["x", "w"], ["a"], pads=[0, 1, 2, 1], strides=[2, 1]),
            helper.make_node(
                "MaxPool", ["a"], ["b"], kernel_shape=[3, 3], auto_pad="SAME_UPPER", strides=[2, 2]
            ),
            helper.make_node(
                "AveragePool",
                ["b"],
                ["c"],
                kernel_shape=[2, 2],
                pads=[1, 0, 0, 1],
                count_include_pad=1,
            ),
            helper.make_node("HardSwish", ["c"], ["y"]),
        ],
        [numpy_helper.from_array(w, "w")],
    )
    onnx.save(proto, str(tmp_path / "p.onnx"))
    x = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    with cnnlab.no_grad():
        ours = load(tmp_path / "p.onnx")(cnnlab.tensor(x)).numpy()
    np.testing.assert_allclose(ours, run_onnxruntime(tmp_path / "p.onnx", x, "x"), atol=1e-5)


def _many_ops_graph(opset: int):
    """A graph through the ops the PyTorch models of test_load.py do not reach, in ``opset``'s form
    (axes as attributes before 13, as inputs after)."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(4)
    c = {
        "w1": rng.standard_normal((5, 6)),
        "w2": rng.standard_normal((6, 4)),
        "c2": rng.standard_normal(4),
        "w3": rng.standard_normal((4, 60)),
        "two": np.array(2.0),
        "one": np.array(1.0),
        "lo": np.array(0.1),
        "shape": np.array([0, -1, 6]),
        "zero": np.array(0),
        "minus1": np.array([-1]),
    }
    inits = [
        numpy_helper.from_array(v.astype(np.int64 if v.dtype.kind == "i" else np.float32), k)
        for k, v in c.items()
    ]
    new = opset >= 13

    def axes(name, values, node_inputs):
        if new:
            inits.append(numpy_helper.from_array(np.asarray(values, np.int64), name))
            return dict(inputs=[*node_inputs, name])
        return dict(inputs=node_inputs, axes=values)

    def node(op, inputs, out, **kw):
        return helper.make_node(op, inputs, [out], **kw)

    def with_axes(op, x, out, name, values, **kw):
        a = axes(name, values, [x])
        return helper.make_node(op, a.pop("inputs"), [out], **a, **kw)

    nodes = [
        node("MatMul", ["x", "w1"], "a"),  # (2, 3, 4, 6)
        node("Reshape", ["a", "shape"], "b"),  # (2, 12, 6)
        node("Transpose", ["b"], "t", perm=[0, 2, 1]),  # (2, 6, 12)
        node("Softmax", ["t"], "s", axis=1),  # opset 11: over dims 1 and 2 together
        with_axes("ReduceSum", "s", "r", "ax2", [2], keepdims=0),  # (2, 6)
        node("Gemm", ["r", "w2", "c2"], "g", alpha=0.5, beta=2.0),  # (2, 4)
        node("Abs", ["g"], "g1"),
        node("Sqrt", ["g1"], "g2"),
        node("Neg", ["g2"], "g3"),
        node("Exp", ["g3"], "g4"),
        node("Add", ["g4", "one"], "g5"),
        node("Log", ["g5"], "g6"),
        node("Pow", ["g6", "two"], "g7"),
        with_axes("Unsqueeze", "g7", "u", "ax1", [1]),  # (2, 1, 4)
        node("Squeeze", ["u"], "sq"),  # every 1-dim: (2, 4)
        node("Clip", ["sq", "lo"], "cl"),  # a lower bound only
        node("Identity", ["cl"], "id"),
        node("Dropout", ["id"], "dr"),
        node("Shape", ["x"], "shp"),
        node("Cast", ["shp"], "shp32", to=TensorProto.INT32),  # integer arithmetic on arrays
        node("Cast", ["shp32"], "shp64", to=TensorProto.INT64),
        node("Gather", ["shp64", "zero"], "n"),
        with_axes("Unsqueeze", "n", "n1", "ax0", [0]),
        node("Concat", ["n1", "minus1"], "flat", axis=0),
        node("Reshape", ["x", "flat"], "xf"),  # (2, 60): x.view(x.size(0), -1)
        node("Gemm", ["xf", "w3"], "q", transB=1),
        node("Div", ["dr", "two"], "half"),
        node("Mul", ["half", "q"], "m"),
        with_axes("ReduceMax", "m", "mx", "axm", [1], keepdims=1)
        if opset >= 18
        else node("ReduceMax", ["m"], "mx", axes=[1], keepdims=1),
        node("Sub", ["m", "mx"], "z"),
        node("GlobalMaxPool", ["x"], "gp"),  # (2, 3, 1, 1)
        node("Flatten", ["gp"], "gf"),  # (2, 3)
        with_axes("ReduceMean", "gf", "gm", "axr", [1], keepdims=1)
        if opset >= 18
        else node("ReduceMean", ["gf"], "gm", axes=[1], keepdims=1),
        node("Add", ["z", "gm"], "zz"),
        node("LogSoftmax", ["zz"], "y", axis=1),
    ]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 4, 5])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])
    graph = helper.make_graph(nodes, "many", [x], [y], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


@pytest.mark.parametrize("opset", [11, 13, 18])
def test_many_ops_match_onnxruntime_and_pass_gradcheck(tmp_path, opset):
    import onnx

    from tests.onnx.conftest import run_onnxruntime

    proto = _many_ops_graph(opset)
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(tmp_path / "m.onnx"))
    loaded = load(tmp_path / "m.onnx")
    x = np.random.default_rng(5).standard_normal((2, 3, 4, 5)).astype(np.float32)
    with cnnlab.no_grad():
        ours = loaded(cnnlab.tensor(x)).numpy()
    np.testing.assert_allclose(ours, run_onnxruntime(tmp_path / "m.onnx", x, "x"), atol=1e-5)
    loaded.double()
    report = cnnlab.gradcheck(
        lambda t: loaded(t), [cnnlab.tensor(x.astype(np.float64), requires_grad=True)]
    )
    assert report.passed, str(report)


def test_a_malformed_node_is_one_line_naming_it():
    from onnx import helper

    # a perm out of range (NumPy would raise its AxisError), a string where an int belongs
    proto = _graph([helper.make_node("Transpose", ["x"], ["y"], name="t", perm=[0, 9])])
    model = load(proto)
    with pytest.raises(ValueError, match=r"^node 't' \(Transpose\): ") as info:
        model(cnnlab.tensor(np.zeros((1, 3, 4, 4), np.float32)))
    assert "\n" not in str(info.value)
    bad = _graph([helper.make_node("Split", ["x"], ["a", "y"], name="s", axis="zero")])
    with pytest.raises(ValueError, match=r"'s' \(Split\): ") as info:
        load(bad)(cnnlab.tensor(np.zeros((2, 3, 4, 4), np.float32)))
    assert "\n" not in str(info.value)

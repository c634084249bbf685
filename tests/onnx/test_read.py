"""``cnnlab.onnx.read``: files from anyone. Garbage, a foreign opset, a constant that would
take gigabytes to fold, and external data pointing out of the model's folder are refused
in one line naming the file, before anything large is allocated."""

from __future__ import annotations

import os

import numpy as np
import pytest

import cnnlab
from cnnlab.onnx import load
from cnnlab.onnx.read import MAX_FOLD_ELEMENTS


def _model(opset: int = 17, nodes=None, inits=()):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = nodes or [helper.make_node("Add", ["x", "w"], ["y"], name="add")]
    graph = helper.make_graph(nodes, "g", [x], [y], initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _weight():
    from onnx import numpy_helper

    return numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "w")


def _one_line(info, *parts):
    text = str(info.value)
    assert "\n" not in text
    for p in parts:
        assert p in text, text


def test_garbage_bytes_are_one_line_naming_the_file(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(os.urandom(64) + b"\xff" * 64)
    with pytest.raises(ValueError) as info:
        load(path)
    _one_line(info, str(path), "is not an ONNX model")


def test_a_missing_file_is_one_line_naming_it(tmp_path):
    with pytest.raises(ValueError) as info:
        load(tmp_path / "absent.onnx")
    _one_line(info, "absent.onnx", "cannot read")


@pytest.mark.parametrize("opset", [99, 3])
def test_opsets_outside_the_range_are_refused(tmp_path, opset):
    import onnx

    path = tmp_path / "m.onnx"
    onnx.save(_model(opset, inits=[_weight()]), path)
    with pytest.raises(ValueError) as info:
        load(path)
    _one_line(info, str(path), f"uses opset {opset}", "opsets 7 to 28")


def test_a_huge_constant_of_shape_is_refused_before_it_is_allocated():
    from onnx import helper, numpy_helper

    shape = numpy_helper.from_array(np.array([20000, 20000], np.int64), "shape")
    nodes = [
        helper.make_node("ConstantOfShape", ["shape"], ["big"], name="fill"),
        helper.make_node("Add", ["x", "big"], ["y"], name="add"),
    ]
    with pytest.raises(ValueError) as info:
        load(_model(nodes=nodes, inits=[shape]))
    _one_line(info, "'fill' (ConstantOfShape)", "400000000 values", str(MAX_FOLD_ELEMENTS))


def _save_external(tmp_path, location="w.bin"):
    import onnx

    folder = tmp_path / "model"
    folder.mkdir()
    path = folder / "m.onnx"
    onnx.save_model(
        _model(inits=[_weight()]),
        path,
        save_as_external_data=True,
        location=location,
        size_threshold=0,
    )
    return path


def test_external_data_inside_the_folder_loads(tmp_path):
    model = load(_save_external(tmp_path))
    y = model(cnnlab.tensor(np.ones((2, 3), np.float32)))
    np.testing.assert_array_equal(y.numpy(), np.arange(6).reshape(2, 3) + 1)


def test_external_data_through_a_symlink_out_of_the_folder_is_refused(tmp_path):
    path = _save_external(tmp_path)
    outside = tmp_path / "secret.bin"
    (path.parent / "w.bin").rename(outside)
    (path.parent / "w.bin").symlink_to(outside)
    with pytest.raises(ValueError) as info:
        load(path)
    _one_line(info, str(path), "tensor 'w'", "not a regular file inside")


def _rewrite_location(path, location: str, **extra):
    import onnx

    proto = onnx.load(path, load_external_data=False)
    entries = proto.graph.initializer[0].external_data
    for e in entries:
        if e.key == "location":
            e.value = location
    for key, value in extra.items():
        entries.add(key=key, value=str(value))
    onnx.save(proto, path)


@pytest.mark.parametrize(
    "location,extra,why",
    [
        ("../secret.bin", {}, "not a regular file inside"),
        ("/etc/hostname", {}, "expected a relative file name"),
        ("w.bin", {"offset": 10**6}, "past the file's"),
    ],
)
def test_external_data_out_of_place_or_out_of_range_is_refused(tmp_path, location, extra, why):
    path = _save_external(tmp_path)
    (tmp_path / "secret.bin").write_bytes(b"\0" * 24)
    _rewrite_location(path, location, **extra)
    with pytest.raises(ValueError) as info:
        load(path)
    _one_line(info, str(path), why)


def test_external_data_of_an_in_memory_model_is_refused(tmp_path):
    import onnx

    proto = onnx.load(_save_external(tmp_path), load_external_data=False)
    with pytest.raises(ValueError) as info:
        load(proto)
    _one_line(info, "tensor 'w' has external data", "load it from its file")

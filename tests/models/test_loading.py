"""The model service (cnnlab.models.loading): one way to open a checkpoint, a zoo name, a
pretrained name or an ONNX file, with its input shape, normalisation and classes."""

from __future__ import annotations

import numpy as np
import pytest

import cnnlab
from cnnlab import models
from cnnlab.models.loading import LoadedModel, Normalized, open_model, resolve_class
from cnnlab.train.checkpoint import save_checkpoint
from tests.helpers import seeded

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker"]


@pytest.fixture
def checkpoint(tmp_path):
    cnnlab.manual_seed(0)
    model = models.create("lenet5", num_classes=len(CLASSES))
    cfg = {
        "model": "lenet5",
        "num_classes": len(CLASSES),
        "in_channels": 1,
        "input_size": [28, 28],
        "mean": [0.286],
        "std": [0.353],
        "classes": CLASSES,
        "data": "fashion-mnist",
    }
    return save_checkpoint(tmp_path / "best.safetensors", model=model, config=cfg), model


def test_a_checkpoint_opens_with_its_config(checkpoint):
    path, model = checkpoint
    info = open_model(path)
    assert info.shape == (1, 28, 28) and info.classes == CLASSES and info.data == "fashion-mnist"
    assert info.normalize == ([0.286], [0.353]) and not info.model.training
    assert info.source == str(path)
    x = seeded(0).random((3, 1, 28, 28)).astype(np.float32)
    with cnnlab.no_grad():
        logits = model.eval()(cnnlab.tensor((x - 0.286) / 0.353)).numpy().astype(np.float64)
    want = np.exp(logits - logits.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    np.testing.assert_allclose(info.predict_probs(x), want, rtol=1e-5, atol=1e-6)
    assert isinstance(info.pixel_model(), Normalized)


def test_a_zoo_name_opens_with_random_weights_and_no_classes():
    info = open_model(name="lenet5")
    assert info.shape == (1, 28, 28) and info.classes is None and info.normalize is None
    assert info.pixel_model() is info.model and "random weights" in info.source
    assert info.label(3) == "3"


def test_an_onnx_file_opens_with_its_class_names(checkpoint, tmp_path):
    pytest.importorskip("onnx")
    from cnnlab.onnx import export

    path, _ = checkpoint
    info = open_model(path)
    x = seeded(1).random((2, 1, 28, 28)).astype(np.float32)
    export(info.pixel_model(), x, tmp_path / "m.onnx", class_names=CLASSES)
    onnx_info = open_model(tmp_path / "m.onnx")
    assert onnx_info.shape == (1, 28, 28) and onnx_info.classes == CLASSES
    assert onnx_info.normalize is None  # cnnlab's exports hold their normalisation inside
    np.testing.assert_allclose(onnx_info.predict_probs(x), info.predict_probs(x), atol=1e-6)


def test_an_onnx_file_without_a_fixed_image_input_is_refused(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, "H", "W"])],
    )
    onnx.save(helper.make_model(graph), tmp_path / "relu.onnx")
    with pytest.raises(ValueError, match=r"relu.onnx: expected an image model.*\[None, 3"):
        open_model(tmp_path / "relu.onnx")
    with pytest.raises(FileNotFoundError, match="missing.onnx: no such ONNX file"):
        open_model(tmp_path / "missing.onnx")


def test_give_one_of_checkpoint_or_name():
    with pytest.raises(ValueError, match="not both"):
        open_model()
    with pytest.raises(ValueError, match="not both"):
        open_model("a.safetensors", "lenet5")


@pytest.mark.parametrize(
    "target, want",
    [(None, None), ("", None), (3, 3), ("5", 5), ("sneaker", 7), ("TROUSER", 1), ("Dr", 3)],
)
def test_resolve_class_by_index_name_or_prefix(target, want):
    assert resolve_class(target, CLASSES) == want


def test_resolve_class_errors_name_the_option_and_the_classes():
    with pytest.raises(ValueError, match=r"--target 'S' matches several classes; classes: T-sh"):
        resolve_class("S", CLASSES)
    with pytest.raises(ValueError, match=r"target 'cat' names no class; classes: none recorded"):
        resolve_class("cat", None, option="target")


def test_loaded_model_labels_and_class_index():
    info = LoadedModel(models.create("lenet5"), [1, 28, 28], classes=CLASSES[:10])
    assert info.shape == (1, 28, 28)
    assert info.class_index("coat") == 4 and info.label(4) == "Coat" and info.label(None) == ""


def test_the_task_comes_from_the_config_or_the_registry(tmp_path):
    from cnnlab import models
    from cnnlab.models.loading import open_model
    from cnnlab.train.checkpoint import save_checkpoint

    assert open_model(name="unet_small").task == "segment"
    assert open_model(name="lenet5").task == "classify"
    config = {"model": "dilated_fcn", "task": "segment", "num_classes": 11, "in_channels": 1}
    config |= {"input_size": [64, 64], "model_options": {"width": 4}}
    path = tmp_path / "seg.safetensors"
    save_checkpoint(path, model=models.create("dilated_fcn", width=4), config=config)
    assert open_model(path).task == "segment"

"""``cnnlab export`` end to end (here rather than in tests/cli, so that it shares the ONNX
tests' rule: skipped without onnx/onnxruntime, an error in CI)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cnnlab
from cnnlab import models
from cnnlab.cli.main import main
from cnnlab.onnx import load
from cnnlab.train.checkpoint import save_checkpoint
from tests.onnx.conftest import run_onnxruntime

MEAN, STD = 0.286, 0.353
CLASSES = [f"c{i}" for i in range(10)]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """An untrained LeNet-5 saved as `cnnlab train` would, with its normalisation and classes."""
    cnnlab.manual_seed(0)
    model = models.create("lenet5")
    path = tmp_path_factory.mktemp("ckpt") / "lenet.safetensors"
    config = {
        "model": "lenet5",
        "data": "fashion-mnist",
        "in_channels": 1,
        "num_classes": 10,
        "input_size": [28, 28],
        "mean": [MEAN],
        "std": [STD],
        "classes": CLASSES,
    }
    save_checkpoint(path, model=model, config=config)
    return path, model.eval()


def test_export_a_checkpoint_with_its_normalisation_and_class_names(checkpoint, tmp_path, capsys):
    path, model = checkpoint
    out = tmp_path / "lenet.onnx"
    assert main(["export", str(path), str(out)]) == 0
    text = capsys.readouterr().out
    assert f"wrote {out}" in text and "10 class names" in text and "(batch, 1, 28, 28)" in text
    assert "onnx.checker passed" in text and "max |difference| from cnnlab" in text
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    with cnnlab.no_grad():
        ref = model(cnnlab.tensor((x - MEAN) / STD)).numpy()  # images in [0, 1] in the graph
    np.testing.assert_allclose(run_onnxruntime(out, x), ref, atol=1e-4)
    assert load(out).class_names == CLASSES


def test_export_a_zoo_model_with_a_fixed_batch_as_json(tmp_path, capsys):
    out = tmp_path / "r.onnx"
    assert main(["export", "--model", "resnet20", str(out), "--batch", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["input_shape"] == [3, 3, 32, 32] and report["opset"] == 17
    assert report["onnxruntime"][1] < 1e-4 and report["classes"] == 0
    assert "BatchNormalization" in report["ops"]


def test_export_errors_are_one_line(tmp_path, capsys):
    assert main(["export", "--model", "lenet5"]) == 2
    assert "required" in capsys.readouterr().err
    assert main(["export", "--model", "lenet5", "a.onnx", "b.onnx"]) == 2
    assert "give OUT.onnx, got 2 paths" in capsys.readouterr().err
    assert main(["export", "--model", "lenet5", str(tmp_path / "x.onnx"), "--opset", "7"]) == 2
    err = capsys.readouterr().err
    assert "opset must be between 13 and" in err and len(err.strip().splitlines()) == 1
    assert main(["export", "--model", "lenet5", "x.onnx", "--batch", "2", "--dynamic-batch"]) == 2
    assert "not allowed with" in capsys.readouterr().err

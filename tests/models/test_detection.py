"""The detector: registration, shapes, He initialisation with the heat-map prior, decoding
known maps to boxes, and the ONNX round trip."""

import importlib.util
import math

import numpy as np
import pytest

import cnnlab
from cnnlab import models, nn
from cnnlab.models.detection import CenterNet, decode_centernet
from cnnlab.train.detection_targets import encode_centernet

SMALL = {"widths": (4, 8, 8), "head_width": 8}


def test_registered_as_a_detector_with_stride_4_maps_and_a_training_step():
    info = models.info("centernet_small")
    assert info["task"] == "detect" and info["input_shape"] == (1, 64, 64)
    assert info["num_classes"] == 10
    cnnlab.manual_seed(0)
    model = models.create("centernet_small", num_classes=3, in_channels=2, **SMALL)
    x = cnnlab.randn(2, 2, 32, 48)
    out = model(x)
    assert out.shape == (2, 3 + 4, 8, 12)
    before = [p.numpy().copy() for p in model.parameters()]
    (out * out).mean().backward()
    assert all(p.grad is not None for p in model.parameters())
    cnnlab.optim.SGD(model.parameters(), lr=0.1).step()
    assert all(not np.array_equal(b, p.numpy()) for b, p in zip(before, model.parameters()))
    assert "num_classes=3, stride=4" in repr(model)


def test_he_initialised_and_the_heat_map_starts_at_the_prior():
    cnnlab.manual_seed(0)
    model = models.create("centernet_small")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    w = np.concatenate(
        [m.weight.numpy().ravel() / np.sqrt(2 / np.prod(m.weight.shape[1:])) for m in convs]
    )
    assert w.std() == pytest.approx(1.0, rel=0.05)  # N(0, 2 / fan_in) pooled
    prior = 1 / (1 + np.exp(-model.heatmap.bias.numpy()))
    np.testing.assert_allclose(prior, 0.1, rtol=1e-6)
    assert not model.size.bias.numpy().any()


def test_bad_inputs_are_refused():
    model = CenterNet(num_classes=2, **SMALL)
    with pytest.raises(ValueError, match=r"CenterNet: input must be \(N, C, H, W\) with H, W"):
        model(cnnlab.randn(1, 1, 30, 32))
    with pytest.raises(ValueError, match="CenterNet: num_classes >= 1, three positive widths"):
        CenterNet(num_classes=0)
    with pytest.raises(ValueError, match=r"got 10, \(8, 8\), 96"):
        CenterNet(widths=(8, 8))
    with pytest.raises(ValueError, match="decode_centernet: output must be"):
        decode_centernet(np.zeros((1, 3, 4, 4)))


def _maps_from(boxes, labels, classes=3, out=(16, 16)):
    """A perfect output: the encoded target's heat maps as logits, sizes and offsets."""
    t = encode_centernet(boxes, labels, classes, out)
    heat = np.clip(t[:classes], 1e-6, 1 - 1e-6)
    logits = np.log(heat / (1 - heat))
    return np.concatenate([logits, t[classes : classes + 4]])[None]


def test_decoding_the_encoded_targets_gives_the_boxes_back():
    boxes = np.array([[3, 5, 25, 27], [30, 2, 41, 30], [40, 40, 62, 61]], np.float32)
    labels = np.array([2, 0, 2])
    (det,) = decode_centernet(_maps_from(boxes, labels), score_threshold=0.5)
    order = np.argsort(det["boxes"][:, 0])
    np.testing.assert_allclose(det["boxes"][order], boxes, atol=1e-4)
    assert det["labels"][order].tolist() == [2, 0, 2]
    np.testing.assert_allclose(det["scores"], 1 - 1e-6, rtol=1e-5)
    # only local maxima: no other cell of the bumps comes out, only the flat background
    (loose,) = decode_centernet(_maps_from(boxes, labels), score_threshold=0.0, k=100)
    assert len(loose["boxes"]) == 100 and (loose["scores"][3:] < 1e-5).all()


def test_decode_keeps_the_top_k_and_suppresses_a_second_peak_on_one_object():
    out = np.full((1, 1 + 4, 8, 8), -10.0)
    out[0, 0, 2, 2], out[0, 0, 2, 4] = 3.0, 2.0  # two peaks two cells apart, same class
    out[0, 1:3] = 6.0  # 24-pixel boxes: the two overlap by IoU 0.5
    (det,) = decode_centernet(out, iou_threshold=0.4)
    assert len(det["boxes"]) == 1 and det["scores"][0] == pytest.approx(1 / (1 + math.exp(-3)))
    (det,) = decode_centernet(out, iou_threshold=None)
    assert len(det["boxes"]) == 2
    (det,) = decode_centernet(out, iou_threshold=None, k=1)
    assert len(det["boxes"]) == 1


@pytest.mark.skipif(
    importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None,
    reason="onnx and onnxruntime are not installed",
)
def test_exports_to_onnx_and_onnxruntime_agrees(tmp_path):
    import onnxruntime as ort

    from cnnlab.onnx import export, load

    cnnlab.manual_seed(0)
    model = models.create("centernet_small", **SMALL)
    model.train()
    with cnnlab.no_grad():  # running statistics of a batch, as a trained net has
        model(cnnlab.rand(4, 1, 64, 64))
    model.eval()
    path = tmp_path / "centernet.onnx"
    export(model, cnnlab.rand(2, 1, 64, 64), path)
    x = np.random.default_rng(1).random((3, 1, 64, 64), dtype=np.float32)
    with cnnlab.no_grad():
        ours = model(cnnlab.tensor(x)).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    theirs = session.run(None, {"input": x})[0]
    assert theirs.shape == (3, 14, 16, 16)
    np.testing.assert_allclose(theirs, ours, rtol=1e-4, atol=1e-4)
    back = load(path).eval()  # and cnnlab reads its own export back
    with cnnlab.no_grad():
        np.testing.assert_allclose(back(cnnlab.tensor(x)).numpy(), ours, rtol=1e-4, atol=1e-4)

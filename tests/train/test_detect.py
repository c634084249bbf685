"""``cnnlab train --task detect``, ``eval`` and ``predict --task detect`` end to end on tiny
scene sets, the loss, the refusals, and (slow) a short run that learns."""

import importlib.util
import json

import numpy as np
import pytest
from PIL import Image

import cnnlab
from cnnlab.cli.main import main
from cnnlab.data.datasets import scenes as S
from cnnlab.train import detect
from cnnlab.train.detection_targets import encode_centernet


@pytest.fixture
def tiny_scenes(tmp_path, monkeypatch):
    """fashion-scenes of 32 train and 16 test scenes of toy items (bright rectangles), cached
    in a temporary data dir."""
    from tests.data.datasets.test_scenes import _source

    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(S, "DEFAULT_SIZES", {True: 32, False: 16})
    monkeypatch.setattr(S, "_fashion_source", lambda root: lambda train: _source(seed=train))
    return tmp_path


def test_train_resume_eval_predict_from_the_command_line(tiny_scenes, capsys):
    out = tiny_scenes / "run"
    argv = ["train", "--task", "detect", "--data", "fashion-scenes"]
    argv += ["--epochs", "1", "--batch-size", "16", "--out", str(out), "--no-progress"]
    assert main([*argv, "--scenes", "24"]) == 0  # 24 training scenes instead of the 32
    printed = capsys.readouterr().out
    assert printed.startswith("test mAP@0.5 ") and "centernet_small on fashion-scenes" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["task"] == "detect" and summary["train_images"] == 24
    assert summary["steps"] == 2 and 0.0 <= summary["test_map50"] <= 1.0
    assert list(summary["test_ap50"]) == [f"c{k}" for k in range(10)]
    for name in ("last.safetensors", "best.safetensors", "curves.png", "metrics.csv"):
        assert (out / name).is_file(), name
    ckpt = cnnlab.train.checkpoint.load_checkpoint(out / "best.safetensors")
    assert ckpt.metrics["best_acc"] == pytest.approx(summary["best_test_map50"])
    assert main(["train", "--resume", str(out), "--epochs", "2", "--no-progress"]) == 0
    assert capsys.readouterr().out.startswith("test mAP@0.5 ")  # resumed as a detector

    assert main(["eval", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["task"] == "detect" and result["n"] == 16
    assert result["map50"] == pytest.approx(
        json.loads((out / "summary.json").read_text())["test_map50"]
    )
    assert main(["eval", str(out), "--limit", "4"]) == 0
    report = capsys.readouterr().out.splitlines()
    assert report[0].startswith("mAP@0.5 ") and "on 4 scenes of fashion-scenes" in report[0]
    assert "AP@[.5:.95]" in report[1] and len(report) == 2 + 10

    image = tiny_scenes / "scene.png"
    Image.fromarray(S.FashionScenes(train=False, progress=False).data[0]).save(image)
    argv = ["predict", "--task", "detect", str(out), str(image), "--score-threshold", "0"]
    assert main([*argv, "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["picture"].endswith("scene_detect.png")
    assert Image.open(result["picture"]).size[0] > 64
    assert all(d["label"] in {f"c{k}" for k in range(10)} for d in result["detections"])
    assert main(argv) == 0 and "objects, picture" in capsys.readouterr().out

    if importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxruntime") is None:
        return  # (both are required in CI: tests/conftest.py)
    onnx_file = tiny_scenes / "detector.onnx"  # the ONNX export detects the same boxes
    assert main(["export", str(out), str(onnx_file), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["onnxruntime"][1] < 1e-3
    assert main(["predict", "--task", "detect", str(onnx_file), str(image), "--json"]) == 0
    (from_onnx,) = json.loads(capsys.readouterr().out)
    assert main(["predict", "--task", "detect", str(out), str(image), "--json"]) == 0
    (from_ckpt,) = json.loads(capsys.readouterr().out)
    assert [d["label"] for d in from_onnx["detections"]] == [
        d["label"] for d in from_ckpt["detections"]
    ]


def test_loss_parts_and_perfect_maps():
    boxes, labels = np.array([[8, 8, 24, 28], [40, 4, 60, 20]]), np.array([1, 0])
    t = encode_centernet(boxes, labels, 3, (16, 16))[None]
    heat = np.clip(t[:, :3], 1e-4, 1 - 1e-4)
    perfect = np.concatenate([np.log(heat / (1 - heat)), t[:, 3:7]], axis=1)
    loss = detect.DetectionLoss()
    base = float(loss(cnnlab.tensor(perfect), t).item())
    assert base < 0.01  # heat maps nearly right, sizes and offsets exact
    wrong = perfect.copy()
    wrong[0, 3, 4, 4] += 2.0  # width off by 2 cells at the first object's centre
    assert float(loss(cnnlab.tensor(wrong), t).item()) == pytest.approx(base + 0.1 * 2 / 2)
    wrong[0, 3, 0, 0] += 5.0  # no object there: not counted
    assert float(loss(cnnlab.tensor(wrong), t).item()) == pytest.approx(base + 0.1 * 2 / 2)
    with pytest.raises(ValueError, match=r"DetectionLoss: target must be \(N, 8, 16, 16\)"):
        loss(cnnlab.tensor(perfect), t[:, :4])


def test_the_flip_test_averages_the_image_and_its_mirror():
    from cnnlab.models.detection import CenterNet

    cnnlab.manual_seed(0)
    model = CenterNet(num_classes=3, widths=(4, 8, 8), head_width=8).eval()
    x = cnnlab.randn(2, 1, 32, 32)
    mirror = cnnlab.tensor(np.ascontiguousarray(x.numpy()[..., ::-1]))
    with cnnlab.no_grad():
        plain, flipped = model(x).numpy(), model(mirror).numpy()[..., ::-1]
        both = detect.flip_test_output(model, x)
        both_of_mirror = detect.flip_test_output(model, mirror)
    p = 1 / (1 + np.exp(-np.stack([plain[:, :3], flipped[:, :3]])))
    np.testing.assert_allclose(1 / (1 + np.exp(-both[:, :3])), p.mean(0), rtol=1e-5)
    np.testing.assert_allclose(both[:, 3:5], (plain[:, 3:5] + flipped[:, 3:5]) / 2, rtol=1e-5)
    np.testing.assert_array_equal(both[:, 5:], plain[:, 5:])  # offsets: the plain image's
    # averaged maps of the mirror image are the mirror of the averaged maps
    np.testing.assert_allclose(both_of_mirror[:, :5], both[:, :5, :, ::-1], rtol=1e-4, atol=1e-6)


def test_refusals(tiny_scenes, capsys):
    with pytest.raises(ValueError, match="--task detect: --data must be one of"):
        detect.train_detection({"data": "digits"})
    with pytest.raises(ValueError, match="--task detect: --distributed is not supported"):
        detect.train_detection({"distributed": True})
    with pytest.raises(ValueError, match="--task detect: --model unet_small is not a detector"):
        detect.train_detection({"model": "unet_small"}, tiny_scenes / "x")
    assert main(["train", "--task", "segment", "--scenes", "9", "--out", str(tiny_scenes)]) != 0
    assert "--scenes is for --task detect or caption, got --task segment" in capsys.readouterr().err


def test_augment_flips_the_training_scenes_only(tiny_scenes):
    cfg = {**detect.DETECT_DEFAULTS, "scenes": None, "augment": True}
    train, test, _ = detect.build_detection_loaders(cfg)
    assert train.dataset.hflip == 0.5 and test.dataset.hflip == 0.0
    train, _, _ = detect.build_detection_loaders({**cfg, "augment": False})
    assert train.dataset.hflip == 0.0


@pytest.mark.slow
def test_a_short_run_on_fashion_scenes_learns(tmp_path, monkeypatch):
    try:
        S.FashionScenes(train=False, n=1, cache=False, progress=False)
    except Exception as e:  # pragma: no cover - depends on the machine
        pytest.skip(f"Fashion-MNIST is not installed: {e}")
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(S, "DEFAULT_SIZES", {True: 1024, False: 128})
    settings = {"scenes": 1024, "epochs": 4, "batch_size": 32}
    s = detect.train_detection(settings, tmp_path / "run", progress=False)
    # a random detector scores about 0; measured 0.54 after these 128 steps (80 s on the
    # loaded 2-core machine)
    assert s["test_map50"] > 0.35, s

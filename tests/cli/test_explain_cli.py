"""Every ``cnnlab explain`` method end to end on LeNet-5 (registered name and checkpoint)."""

import numpy as np
import pytest
from PIL import Image

from cnnlab.cli.main import main
from cnnlab.explain.command import METHODS

EXPECTED = {
    "filters": ["filters.png"],
    "activations": ["a_input.png", "a_activations.png"],
    "topk": ["topk_features.3_1.png"],
    "saliency": [
        "a_saliency_input.png",
        "a_saliency_map.png",
        "a_saliency_overlay.png",
        "a_saliency_raw.png",
    ],
    "smoothgrad": ["a_smoothgrad_map.png", "a_smoothgrad_overlay.png"],
    "guided": ["a_guided_map.png", "a_guided_raw.png", "a_guided_overlay.png"],
    "deconvnet": ["a_deconvnet_map.png", "a_deconvnet_raw.png"],
    "gradcam": ["a_gradcam_input.png", "a_gradcam_map.png", "a_gradcam_overlay.png"],
    "occlusion": ["a_occlusion_map.png", "a_occlusion_overlay.png"],
    "class-model": ["class_model_4.png"],
    "erf": ["erf.png"],
    "receptive-field": ["receptive_field.png"],
}


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "a.png"  # a non-square RGB file: converted to grey, cropped, resized
    rgb = (np.random.default_rng(0).random((40, 30, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(path)
    return path


def test_every_method_is_covered():
    assert set(EXPECTED) == set(METHODS)


@pytest.mark.parametrize("method", METHODS)
def test_method_writes_its_pngs(method, image, tmp_path, capsys):
    out = tmp_path / "out"
    argv = [
        "explain",
        method,
        "--model",
        "lenet5",
        str(image),
        "--out",
        str(out),
        "--target",
        "4",
        "--samples",
        "2",
        "--steps",
        "3",
        "--no-progress",
    ]
    if method == "topk":
        argv += ["--layer", "features.3", "--channel", "1", str(image)]
    assert main(argv) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out.split()
    for name in EXPECTED[method]:
        assert (out / name).is_file(), name
        assert str(out / name) in printed
        assert Image.open(out / name).size[0] >= 28


def test_checkpoint_model_and_errors(image, tmp_path, capsys):
    from cnnlab import models
    from cnnlab.train.checkpoint import save_checkpoint

    model = models.create("lenet5")
    ckpt = tmp_path / "m.safetensors"
    save_checkpoint(
        ckpt,
        model=model,
        epoch=1,
        config={
            "model": "lenet5",
            "in_channels": 1,
            "num_classes": 10,
            "input_size": [28, 28],
            "mean": [0.3],
            "std": [0.35],
        },
    )
    assert (
        main(
            [
                "explain",
                "gradcam",
                str(ckpt),
                str(image),
                "--out",
                str(tmp_path / "o"),
                "--no-progress",
            ]
        )
        == 0
    )
    assert (tmp_path / "o" / "a_gradcam_overlay.png").is_file()
    capsys.readouterr()
    assert main(["explain", "saliency", "--model", "lenet5", "--out", str(tmp_path)]) == 2
    assert "IMAGE" in capsys.readouterr().err
    assert main(["explain", "nope", "--model", "lenet5", "--out", str(tmp_path)]) == 2
    assert (
        main(
            [
                "explain",
                "gradcam",
                "--model",
                "lenet5",
                str(image),
                "--layer",
                "x",
                "--out",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "no layer" in capsys.readouterr().err


def test_a_segmenter_explains_a_class_in_a_box_and_its_dilation(image, tmp_path, capsys):
    import json

    out = tmp_path / "seg"
    argv = ["explain", "gradcam", "--model", "dilated_fcn", str(image), "--out", str(out)]
    assert main([*argv, "--target", "3", "--region", "4,8,40,30", "--no-progress"]) == 0
    printed = capsys.readouterr().out.split()
    for suffix in ("map", "overlay", "region"):
        assert str(out / f"a_gradcam_3_{suffix}.png") in printed  # no class names: index
    assert main(["explain", "receptive-field", "--model", "dilated_fcn", "--out", str(out)]) == 0
    fields = json.loads((out / "receptive_field.json").read_text())
    assert fields["dilated"]["measured"]["size"] == [41, 41] and fields["plain"]["agree"]
    capsys.readouterr()
    assert main([*argv, "--region", "1,2,3"]) == 2
    assert "expected four integers X1,Y1,X2,Y2" in capsys.readouterr().err

"""``cnnlab train --pretrained --freeze`` and ``cnnlab features`` end to end on tiny data."""

import numpy as np
import pytest

from cnnlab.cli.main import main


def _weights():
    from cnnlab.io import load_torch_checkpoint, weights_path

    try:
        return load_torch_checkpoint(weights_path("efficientnet_lite0"))
    except FileNotFoundError as e:
        pytest.skip(str(e))


@pytest.mark.slow
def test_train_pretrained_with_frozen_features_trains_the_head_only(tmp_path):
    from cnnlab.train.checkpoint import model_from_checkpoint

    imagenet = _weights()
    out = tmp_path / "run"
    argv = ["train", "--model", "efficientnet_lite0", "--pretrained", "--freeze", "features",
            "--image-size", "32", "--data", "digits", "--limit", "64", "--epochs", "1",
            "--batch-size", "32", "--lr-body", "0.001", "--out", str(out),
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    model, ckpt = model_from_checkpoint(out / "last.safetensors")
    cfg = ckpt.config
    assert cfg["mean"] == [0.0] and cfg["std"] == [1.0]  # pixels in [0, 1] to the model
    assert cfg["model_options"] == {"grey": "repeat", "image_size": 32}
    sd = model.state_dict()
    for k in ("_conv_stem.weight", "_blocks.15._project_conv.weight", "_bn1.running_mean"):
        assert np.array_equal(np.asarray(sd[k]), imagenet[k]), k
    assert sd["_fc.weight"].shape == (10, 1280)


def test_freeze_without_pretrained_is_one_clear_line(tmp_path, capsys):
    argv = ["train", "--data", "digits", "--limit", "32", "--epochs", "1", "--freeze",
            "features", "--out", str(tmp_path / "r"), "--no-progress"]  # fmt: skip
    assert main(argv) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--freeze features needs --pretrained" in err[0]


def test_features_of_a_zoo_model_to_npz_with_a_map(tmp_path, capsys):
    out, png = tmp_path / "f.npz", tmp_path / "map.png"
    argv = ["features", "--model", "fashion_cnn", "--data", "digits", "--limit", "40",
            "--out", str(out), "--tsne", str(png), "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    z = np.load(out)
    assert z["features"].shape[0] == 40 and z["labels"].shape == (40,)
    assert png.stat().st_size > 5000 and "map ->" in capsys.readouterr().out


def test_features_needs_a_checkpoint_or_a_model(tmp_path, capsys):
    assert main(["features", "--out", str(tmp_path / "f.npz")]) != 0
    assert "CHECKPOINT or --model" in capsys.readouterr().err

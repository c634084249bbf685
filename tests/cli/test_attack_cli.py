"""``cnnlab attack``: every method end to end on tiny settings."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from cnnlab import models
from cnnlab.cli.main import main
from cnnlab.train.checkpoint import save_checkpoint


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """An untrained LeNet-5 saved as `cnnlab train` would, with its data set's normalisation."""
    path = tmp_path_factory.mktemp("ckpt") / "lenet.safetensors"
    save_checkpoint(
        path,
        model=models.create("lenet5"),
        config={
            "model": "lenet5",
            "data": "fashion-mnist",
            "in_channels": 1,
            "num_classes": 10,
            "input_size": [28, 28],
            "mean": [0.286],
            "std": [0.353],
            "classes": [f"c{i}" for i in range(10)],
        },
    )
    return str(path)


def run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


TINY = {
    "fgsm": [],
    "pgd": ["--steps", "2"],
    "minimal": ["--iterations", "2"],
    "deepfool": ["--iterations", "2"],
    "universal": ["--iterations", "1", "-n", "6"],
    "one-pixel": ["--iterations", "1", "--pixels", "3"],
    "report": ["--steps", "1", "--eps-values", "0", "0.1"],
}


@pytest.mark.parametrize("method", sorted(TINY))
def test_every_method_on_a_checkpoint(method, checkpoint, tmp_path, capsys):
    out = tmp_path / method
    argv = ["attack", method, checkpoint, "-n", "4", "--out", str(out), "--json", *TINY[method]]
    summary = json.loads(run(argv, capsys))
    assert summary["method"] == method.replace("-", "_")
    assert json.loads((out / "summary.json").read_text())["method"] == summary["method"]
    png = "robustness.png" if method == "report" else "examples.png"
    assert (out / png).stat().st_size > 0
    if method == "report":
        assert (out / "robustness.md").read_text().startswith("| method")
    else:
        npz = np.load(out / "adversarial.npz")
        assert npz["x_adv"].min() >= 0 and npz["x_adv"].max() <= 1


@pytest.mark.parametrize("how", ["gradient", "evolution"])
def test_fooling_with_a_zoo_model(how, tmp_path, capsys):
    out = tmp_path / how
    text = run(
        [
            "attack",
            "fooling",
            "--model",
            "lenet5",
            "--fooling-method",
            how,
            "--iterations",
            "2",
            "--target",
            "3",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert "success_rate" in text and (out / "fooling.png").exists()
    assert json.loads((out / "summary.json").read_text())["n"] == 1


def test_image_files_after_options(tmp_path, capsys):
    files = []
    for i in range(2):
        p = tmp_path / f"img{i}.png"
        Image.fromarray((np.random.default_rng(i).random((28, 28)) * 255).astype(np.uint8)).save(p)
        files.append(str(p))
    out = tmp_path / "pgd"
    text = run(
        [
            "attack",
            "pgd",
            "--model",
            "lenet5",
            *files,
            "--eps",
            "0.05",
            "--norm",
            "2",
            "--target",
            "1",
            "--steps",
            "2",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert "targeted: True" in text
    assert np.load(out / "adversarial.npz")["x"].shape == (2, 1, 28, 28)


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["attack", "pgd", "--out", str(tmp_path)]) == 2
    assert "CHECKPOINT or --model" in capsys.readouterr().err
    assert main(["attack", "nope", "--model", "lenet5", "--out", str(tmp_path)]) == 2
    assert (
        main(
            [
                "attack",
                "pgd",
                "--model",
                "lenet5",
                "--data",
                "fashion-mnist",
                "--target",
                "zebra",
                "--out",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "zebra" in capsys.readouterr().err

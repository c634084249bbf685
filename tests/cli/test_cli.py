"""The cnnlab command line end to end on tiny settings, and its error paths."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from cnnlab.cli.main import COMMANDS, main
from tests.helpers import requires_torch


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    code = main(
        [
            "train",
            "--data",
            "digits",
            "--epochs",
            "1",
            "--limit",
            "300",
            "--out",
            str(out),
            "--no-progress",
            "--batch-size",
            "32",
        ]
    )
    assert code == 0
    return out


def test_train_writes_a_complete_run(run_dir, capsys):
    for name in (
        "last.safetensors",
        "best.safetensors",
        "metrics.csv",
        "curves.png",
        "summary.json",
    ):
        assert (run_dir / name).is_file(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["train_images"] == 300 and summary["epochs"] == 1
    assert 0.0 <= summary["test_acc"] <= 1.0


def test_eval_prints_accuracy_and_per_class_table(run_dir, capsys, tmp_path):
    assert main(["eval", str(run_dir), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("accuracy ") and "images of digits" in out
    assert len([line for line in out.splitlines() if line[:1].isdigit()]) == 10
    assert (tmp_path / "confusion_digits.png").stat().st_size > 1000
    assert (
        main(
            [
                "eval",
                str(run_dir / "last.safetensors"),
                "--json",
                "--limit",
                "50",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    res = json.loads(capsys.readouterr().out)
    assert res["n"] == 50 and np.asarray(res["confusion_matrix"]).sum() == 50


def test_predict_any_image_size_and_mode(run_dir, capsys, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    rgb = tmp_path / "big_rgb.png"
    Image.fromarray(rng.integers(0, 255, (40, 30, 3), dtype=np.uint8)).save(rgb)
    gray = tmp_path / "gray.png"
    Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(gray)
    assert main(["predict", str(run_dir), str(rgb), str(gray), "--topk", "3", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert [r["image"] for r in res] == [str(rgb), str(gray)]
    for r in res:
        probs = [p for _, p in r["top"]]
        assert len(probs) == 3 and probs == sorted(probs, reverse=True)
        assert all(name in [str(d) for d in range(10)] for name, _ in r["top"])
    assert main(["predict", str(run_dir), str(gray)]) == 0
    assert "%" in capsys.readouterr().out


def test_resume_of_a_finished_run_is_a_no_op(run_dir, capsys):
    assert main(["train", "--resume", str(run_dir), "--no-progress"]) == 0
    assert "1 epochs" in capsys.readouterr().out


def test_train_with_a_validation_split(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--data", "digits", "--epochs", "2", "--limit", "300", "--val-split", "0.2"]
    assert main([*argv, "--out", str(out), "--no-progress", "--batch-size", "32"]) == 0
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and "validation accuracy" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["train_images"] == 240 and summary["val_images"] == 60
    assert summary["best_val_acc"] == max(summary["val_acc"], summary["best_val_acc"])
    rows = [r for r in (out / "metrics.csv").read_text().splitlines()[1:] if r.startswith("epoch")]
    assert len(rows) == 2
    last_val_acc = float(rows[-1].split(",")[7])
    assert last_val_acc == pytest.approx(summary["val_acc"])
    # the test figures are the test set's, measured once at the end, not the validation's
    from cnnlab.train.checkpoint import model_from_checkpoint
    from cnnlab.train.run import evaluate_checkpoint

    res = evaluate_checkpoint(out / "last.safetensors", out_dir=tmp_path)
    assert res["acc"] == pytest.approx(summary["test_acc"])
    model_from_checkpoint(out / "best.safetensors")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--model", "resnet21", "--data", "digits"], "unknown model 'resnet21'"),
        (["train", "--epochs", "0"], "--epochs"),
        (["train", "--optimizer", "rmsprop"], "invalid choice"),
        (["train", "--val-split", "1.5"], "must be in [0, 1)"),
        (["train", "--data", "imagenet"], "unknown data 'imagenet'"),
        (["eval", "/nonexistent/last.safetensors"], "cannot read checkpoint"),
        (["predict", "/nonexistent", "x.png"], "cannot read checkpoint"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert message in err and "Traceback" not in err


def test_missing_image_is_one_line(run_dir, capsys, tmp_path):
    assert main(["predict", str(run_dir), str(tmp_path / "missing.png")]) == 2
    assert "cannot read image" in capsys.readouterr().err


def test_debug_shows_the_traceback():
    with pytest.raises(ValueError, match="unknown model"):
        main(["train", "--model", "resnet21", "--debug"])


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    assert f"usage: cnnlab {command}" in capsys.readouterr().out


def test_python_dash_m_cnnlab():
    res = subprocess.run(
        [sys.executable, "-m", "cnnlab", "train", "--model", "nope"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2 and "unknown model 'nope'" in res.stderr


def test_train_on_an_image_folder(tmp_path, capsys):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, level in (("dark", 40), ("light", 210)):
        (tmp_path / "imgs" / label).mkdir(parents=True)
        for i in range(12):
            px = np.clip(rng.normal(level, 20, (20, 14, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(px).save(tmp_path / "imgs" / label / f"{i}.png")
    out = tmp_path / "run"
    argv = [
        "train",
        "--data",
        str(tmp_path / "imgs"),
        "--model",
        "lenet5",
        "--image-size",
        "16",
        "--grayscale",
        "--epochs",
        "2",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["train_images"] + summary["test_images"] == 24
    assert main(["predict", str(out), str(tmp_path / "imgs" / "light" / "0.png"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert {name for name, _ in res[0]["top"]} == {"dark", "light"}


def test_missing_data_is_one_line_with_a_hint(tmp_path, capsys):
    assert main(["train", "--data", "mnist", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(tmp_path) in err


def test_predict_with_a_zoo_model_name(capsys, tmp_path):
    from PIL import Image

    img = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (50, 70), np.uint8)).save(img)
    argv = ["predict", "--model", "lenet5", str(img), "--topk", "4", "--json"]
    assert main(argv) == 0
    (res,) = json.loads(capsys.readouterr().out)
    probs = [p for _, p in res["top"]]
    assert len(probs) == 4 and probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1
    assert main(["predict", "--model", "lenet5"]) == 2  # a model but no image


def test_predict_pretrained_efficientnet_on_the_coffee_photo(capsys, tmp_path):
    from PIL import Image

    from cnnlab.io import weights_path

    skdata = pytest.importorskip("skimage.data")
    try:
        weights_path("efficientnet_lite0")
    except FileNotFoundError as e:
        pytest.skip(str(e))
    img = tmp_path / "coffee.png"
    Image.fromarray(skdata.coffee()).save(img)
    argv = ["predict", "--model", "efficientnet_lite0", "--pretrained", str(img), "--json"]
    assert main(argv) == 0
    (res,) = json.loads(capsys.readouterr().out)
    name, p = res["top"][0]
    assert name == "espresso" and p > 0.5


@requires_torch
def test_predict_on_a_pytorch_file_says_how_to_load_it_safely(tmp_path, capsys):
    """Regression: a .pth file used to give 'corrupt or truncated checkpoint (header too
    large)'. The message's recipe is followed here and must give a working checkpoint."""
    import torch

    from cnnlab import io, models
    from cnnlab.train import save_checkpoint

    img = tmp_path / "x.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(img)
    ref = models.create("lenet5")
    torch_state = {k: torch.tensor(v) for k, v in ref.state_dict().items()}
    torch.save(torch_state, tmp_path / "model.pth")
    assert main(["predict", str(tmp_path / "model.pth"), str(img)]) == 2
    err = capsys.readouterr().err
    assert "is a PyTorch checkpoint" in err and "cnnlab.io.load_torch_checkpoint" in err
    model = models.create("lenet5")
    model.load_state_dict(io.load_torch_checkpoint(tmp_path / "model.pth"))
    save_checkpoint(tmp_path / "model.safetensors", model=model, config={"model": "lenet5"})
    assert main(["predict", str(tmp_path / "model.safetensors"), str(img), "--json"]) == 0


def test_eval_of_the_exported_onnx_file_gives_the_checkpoints_accuracy(run_dir, capsys, tmp_path):
    path = tmp_path / "digits.onnx"
    assert main(["export", str(run_dir / "last.safetensors"), str(path)]) == 0
    common = ["--data", "digits", "--json", "--limit", "80", "--out", str(tmp_path)]
    capsys.readouterr()
    assert main(["eval", str(run_dir / "last.safetensors"), *common]) == 0
    ours = json.loads(capsys.readouterr().out)
    assert main(["eval", str(path), *common]) == 0  # normalisation is inside the graph
    onnx_result = json.loads(capsys.readouterr().out)
    assert onnx_result["acc"] == ours["acc"] and onnx_result["n"] == 80
    assert onnx_result["confusion_matrix"] == ours["confusion_matrix"]
    assert main(["eval", str(path)]) == 2  # an ONNX file records no data set
    assert "no data set recorded; pass --data" in capsys.readouterr().err


def test_train_into_an_existing_run_is_refused_and_the_run_kept(run_dir, capsys):
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    argv = ["train", "--data", "digits", "--epochs", "1", "--limit", "300", "--no-progress"]
    assert main([*argv, "--out", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--overwrite" in err and len(err.splitlines()) == 1
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before


def test_resume_trims_the_metrics_of_lost_progress(run_dir, tmp_path, capsys):
    import csv
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(run_dir, run)
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    step = max(int(r["step"]) for r in rows)
    with open(run / "metrics.csv", "a") as f:  # a crash after logging, before the checkpoint
        f.write(f"step,2,{step + 5},0.1,1.0,0.5,,,,\nepoch,2,{step + 9},0.1,1.0,0.5,,,,\n")
    assert main(["train", "--resume", str(run), "--no-progress"]) == 0
    after = list(csv.DictReader(open(run / "metrics.csv")))
    assert after == rows  # the lost rows are gone, nothing duplicated


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--lr", "inf"], "argument --lr: expected a finite number, got inf"),
        (["train", "--lr", "nan"], "argument --lr: expected a finite number"),
        (["train", "--seed", "-1"], "argument --seed: must be a non-negative integer, got -1"),
        (["train", "--label-smoothing", "1.5"], "argument --label-smoothing: must be in"),
        (["train", "--batch-size", "ten"], "argument --batch-size: expected an integer"),
        (["eval", "run", "--limit", "-5"], "argument --limit: must be a positive integer"),
        (["eval", "run", "--batch-size", "0"], "argument --batch-size: must be a positive"),
        (["attack", "fgsm", "--eps", "-0.1"], "argument --eps: must be at least 0"),
        (["attack", "fgsm", "--steps", "0"], "argument --steps: must be a positive integer"),
        (["predict", "x.png", "--topk", "0"], "argument --topk: must be a positive integer"),
        (["explain", "saliency", "x.png", "--steps", "-3"], "argument --steps: must be"),
        (["summary", "lenet5", "--num-classes", "0"], "argument --num-classes: must be"),
        (["gan", "train", "--lr", "inf"], "argument --lr: expected a finite number"),
    ],
)
def test_bad_option_values_are_refused_naming_the_option(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err

"""cnnlab.train.scene_task: the settings and the summary the scene tasks share."""

from __future__ import annotations

import json

import pytest

from cnnlab.train import recipes
from cnnlab.train.scene_task import finish_summary, scene_config


def test_a_new_runs_settings_are_the_recipes_under_the_users_and_checked():
    cfg, run_dir = scene_config(
        "detect", {"epochs": 4, "data": "fashion-scenes"}, {"epochs": 2}, None
    )
    assert run_dir is None and cfg["task"] == "detect" and cfg["epochs"] == 2
    assert cfg["seed"] == recipes.DEFAULTS["seed"]
    with pytest.raises(ValueError, match="--task detect: --data must be one of .*got 'cifar10'"):
        scene_config("detect", {}, {"data": "cifar10"}, None)
    with pytest.raises(
        ValueError, match=r"--task segment: --val-split is not supported \(got 0.1\)"
    ):
        scene_config("segment", {"data": "mnist-scenes"}, {"val_split": 0.1}, None, ("val_split",))


def test_the_summary_adds_what_every_run_reports_and_is_written(tmp_path):
    history = [{"loss": 0.9, "time_s": 1.25}, {"loss": 0.5, "time_s": 2.0}]
    got = finish_summary({"task": "segment", "test_miou": 0.5}, history, 0.0, tmp_path)
    assert got["train_loss"] == 0.5 and got["total_train_time_s"] == 3.2
    assert got["checkpoint"] == str(tmp_path / "last.safetensors")
    assert json.loads((tmp_path / "summary.json").read_text()) == got
    assert finish_summary({}, [], 0.0, tmp_path)["train_loss"] is None

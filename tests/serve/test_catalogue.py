import json

from cnnlab.serve.catalogue import list_choices


def test_runs_and_zoo_models_carry_their_task_and_unknown_tasks_are_left_out(tmp_path):
    for run, task in (("seg", "segment"), ("cls", None), ("gan", "generate")):
        (tmp_path / run).mkdir()
        (tmp_path / run / "last.safetensors").write_bytes(b"")
        summary = {"model": "m", "data": "d", "test_miou": 0.8123}
        summary |= {"task": task} if task else {}
        (tmp_path / run / "summary.json").write_text(json.dumps(summary))
    choices = {c.id: c for c in list_choices(runs=tmp_path, allow_zoo=True)[0]}
    assert choices["run:cls/last.safetensors"].task == "classify"
    assert choices["run:seg/last.safetensors"].public()["task"] == "segment"
    assert "test mIoU 0.812" in choices["run:seg/last.safetensors"].label
    assert "run:gan/last.safetensors" not in choices  # the lab has no view for it
    assert choices["zoo:unet_small"].task == choices["zoo:dilated_fcn"].task == "segment"
    assert choices["zoo:lenet5"].task == "classify"
    _, default = list_choices(model="unet_small")
    assert default == "zoo:unet_small"
    assert list_choices(model="unet_small")[0][0].task == "segment"

import json

from cnnlab.serve.catalogue import list_choices


def test_segmenters_and_segmentation_runs_are_not_offered(tmp_path):
    for run, task in (("seg", "segment"), ("cls", None)):
        (tmp_path / run).mkdir()
        (tmp_path / run / "last.safetensors").write_bytes(b"")
        summary = {"model": "m", "data": "d"} | ({"task": task} if task else {})
        (tmp_path / run / "summary.json").write_text(json.dumps(summary))
    ids = [c.id for c in list_choices(runs=tmp_path, allow_zoo=True)[0]]
    assert "run:cls/last.safetensors" in ids and "zoo:lenet5" in ids
    assert "run:seg/last.safetensors" not in ids
    assert "zoo:unet_small" not in ids and "zoo:dilated_fcn" not in ids

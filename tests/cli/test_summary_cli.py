"""``cnnlab summary`` end to end."""

import json

from cnnlab.cli.main import main


def test_summary_prints_the_table_and_totals(capsys):
    assert main(["summary", "lenet5"]) == 0
    out = capsys.readouterr().out
    assert "Conv2d" in out and "Total params: 61,706" in out and "RF" in out


def test_summary_with_input_shape_and_json(capsys):
    assert main(["summary", "resnet20", "--input", "3x32x32", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["params"] == 269_722
    assert data["rows"][0]["output_shape"] == [16, 32, 32]


def test_summary_list_and_errors(capsys):
    assert main(["summary", "x", "--list"]) == 0
    assert "efficientnet_lite0" in capsys.readouterr().out
    assert main(["summary", "resnet20", "--input", "32x32"]) == 2
    assert "3x224x224" in capsys.readouterr().err
    assert main(["summary", "nonexistent"]) == 2
    assert "unknown model" in capsys.readouterr().err


def test_summary_of_an_onnx_file_goes_through_the_model_service(tmp_path, capsys):
    import numpy as np

    from cnnlab import manual_seed, models
    from cnnlab.onnx import export

    manual_seed(0)
    path = tmp_path / "lenet.onnx"
    export(models.create("lenet5").eval(), np.zeros((2, 1, 28, 28), np.float32), path)
    assert main(["summary", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["params"] == 61_706
    (tmp_path / "junk.onnx").write_bytes(b"\x00garbage")
    assert main(["summary", str(tmp_path / "junk.onnx")]) == 2
    assert "junk.onnx is not an ONNX model" in capsys.readouterr().err

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

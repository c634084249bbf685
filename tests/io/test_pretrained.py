import pytest

from cnnlab.io import WEIGHTS, imagenet_classes, pretrained, weights_path


def test_imagenet_classes_are_1000_known_names_in_a_fresh_list():
    names = imagenet_classes()
    assert len(names) == 1000
    known = {0: "tench", 1: "goldfish", 2: "great white shark", 20: "water ouzel",
             75: "black widow", 151: "Chihuahua", 207: "golden retriever", 281: "tabby",
             282: "tiger cat", 285: "Egyptian cat", 291: "lion", 340: "zebra", 388: "giant panda",
             407: "ambulance", 504: "coffee mug", 517: "crane", 600: "hook", 817: "sports car",
             850: "teddy", 916: "web site", 948: "Granny Smith", 954: "banana", 967: "espresso",
             985: "daisy", 999: "toilet tissue"}  # fmt: skip
    for i, name in known.items():
        assert names[i] == name, i
    assert all(n and n == n.strip() and "_" not in n for n in names)
    names[0] = "changed"  # callers get their own list
    assert imagenet_classes()[0] == "tench"


def test_weights_path_uses_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNLAB_DATA", str(tmp_path))
    monkeypatch.setattr(pretrained, "_in_installed_wheel", lambda info: None)
    with pytest.raises(FileNotFoundError, match="scripts/fetch_weights.sh"):
        weights_path()
    target = tmp_path / "weights" / WEIGHTS["efficientnet_lite0"].filename
    target.parent.mkdir()
    target.write_bytes(b"x")
    assert weights_path("efficientnet_lite0") == target


def test_weights_path_unknown_name():
    with pytest.raises(ValueError, match="efficientnet_lite0"):
        weights_path("resnet9000")

"""The model registry: register, create, names, info, errors."""

import numpy as np
import pytest

from cnnlab import models, nn
from cnnlab.models import registry


@pytest.fixture
def scratch_registry(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", {})
    return registry


def test_register_create_names_info(scratch_registry):
    @scratch_registry.register("tiny", input_shape=(1, 8, 8), num_classes=3)
    def tiny(num_classes: int = 3, in_channels: int = 1, hidden: int = 4):
        """A tiny net."""
        return nn.Sequential(
            nn.Flatten(), nn.Linear(in_channels * 64, hidden), nn.Linear(hidden, num_classes)
        )

    assert scratch_registry.names() == ["tiny"]
    assert scratch_registry.info("tiny") == {
        "name": "tiny",
        "input_shape": (1, 8, 8),
        "num_classes": 3,
        "task": "classify",
        "doc": "A tiny net.",
    }
    m = scratch_registry.create("tiny")
    assert m[2].out_features == 3 and m[1].in_features == 64
    m = scratch_registry.create("tiny", num_classes=5, in_channels=2, hidden=6)
    assert (m[1].in_features, m[1].out_features, m[2].out_features) == (128, 6, 5)


def test_duplicate_name_and_bad_options_and_pretrained(scratch_registry):
    @scratch_registry.register("a")
    def a(num_classes: int = 10, in_channels: int = 1):
        return nn.Identity()

    with pytest.raises(ValueError, match="already registered"):
        scratch_registry.register("a")(a)
    with pytest.raises(ValueError, match="bad options"):
        scratch_registry.create("a", width=3)
    with pytest.raises(ValueError, match="no pretrained weights"):
        scratch_registry.create("a", pretrained=True)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown model 'nope'.*fashion_cnn.*lenet5"):
        models.create("nope")
    with pytest.raises(ValueError, match="known models"):
        models.info("nope")


def test_first_models_are_registered():
    assert {"lenet5", "fashion_cnn"} <= set(models.names())
    assert models.info("fashion_cnn")["input_shape"] == (1, 28, 28)
    assert models.accepts("fashion_cnn", "input_size")
    assert not models.accepts("lenet5", "width")


def test_fashion_cnn_sizes_and_shapes():
    import cnnlab

    # conv weights 1*9*32, 32*9*64, 64*9*128 (no bias) + BN 2*(32+64+128) + fc 128*7*7*10+10
    # (no pooling after the last stage: 28 -> 14 -> 7)
    m = models.create("fashion_cnn")
    assert sum(p.numel() for p in m.parameters()) == 288 + 18432 + 73728 + 448 + 62730
    pooled = models.create("fashion_cnn", pool_last=True)  # 7x7 floors to 3x3: fc 1152*10+10
    assert sum(p.numel() for p in pooled.parameters()) == 288 + 18432 + 73728 + 448 + 11530
    assert m(cnnlab.randn(2, 1, 28, 28)).shape == (2, 10)
    large = models.create("fashion_cnn_large", num_classes=5, in_channels=3, input_size=32)
    assert large(cnnlab.randn(2, 3, 32, 32)).shape == (2, 5)
    with pytest.raises(ValueError, match="too small"):
        models.create("fashion_cnn", input_size=4, pool_last=True)
    # the classifier starts small (PyTorch's default init), the convs from He init
    fc = m.classifier[1].weight.numpy()
    assert np.abs(fc).max() <= 1 / np.sqrt(6272) and fc.std() > 0.5 / np.sqrt(3 * 6272)

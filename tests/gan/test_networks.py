"""The GAN pair in one checkpoint, rebuilt from its config."""

import numpy as np
import pytest

from cnnlab import models
from cnnlab.gan import load_gan
from cnnlab.gan.networks import gan_config
from cnnlab.train.checkpoint import CheckpointError, save_checkpoint
from tests.gan.conftest import tiny_pair


def test_load_gan_rebuilds_both_networks(tmp_path):
    pair, cfg = tiny_pair(conditional=True)
    save_checkpoint(tmp_path / "g.safetensors", model=pair, config=cfg)
    loaded, ckpt = load_gan(tmp_path / "g.safetensors")
    assert not loaded.training and ckpt.config["classes"] == ["a", "b"]
    for k, v in pair.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict()[k], v)
    assert loaded.generator.num_classes == 2 and loaded.discriminator.num_classes == 2


def test_load_gan_refuses_a_classifier_checkpoint(tmp_path):
    m = models.create("lenet5")
    save_checkpoint(tmp_path / "c.safetensors", model=m, config={"model": "lenet5"})
    with pytest.raises(CheckpointError, match="not a GAN checkpoint"):
        load_gan(tmp_path / "c.safetensors")


def test_conditional_config_needs_classes():
    with pytest.raises(ValueError, match="class labels"):
        gan_config(1, 28, conditional=True)


def test_the_python_api_is_on_the_lazy_surface():
    import cnnlab

    names = ("GANTrainer", "sample", "interpolate", "nearest_neighbours")
    names += ("frechet_distance", "classifier_score", "precision_recall")
    assert "gan" in dir(cnnlab)
    assert all(callable(getattr(cnnlab.gan, n)) for n in names)


def test_conditional_runs_default_to_projection_and_older_ones_load_as_concat(tmp_path):
    pair, cfg = tiny_pair(conditional=True)
    assert cfg["conditioning"] == "projection" and hasattr(pair.discriminator, "embed")
    # a checkpoint written before the option existed has no "conditioning" key: concat
    concat_cfg = gan_config(1, 16, 8, 4, 4, ["a", "b"], True, conditioning="concat")
    from cnnlab.gan import build_gan

    old = build_gan(concat_cfg)
    legacy = {k: v for k, v in concat_cfg.items() if k != "conditioning"}
    save_checkpoint(tmp_path / "old.safetensors", model=old, config=legacy)
    loaded, _ = load_gan(tmp_path / "old.safetensors")
    assert loaded.discriminator.conditioning == "concat"
    assert loaded.discriminator.main[0].in_channels == 1 + 2
    with pytest.raises(ValueError, match="--conditioning must be one of"):
        gan_config(1, 16, classes=["a"], conditional=True, conditioning="hinge")

"""The generator as a prior for class models."""

import numpy as np
import pytest

import cnnlab
from cnnlab import nn
from cnnlab.gan.prior import generator_class_model
from cnnlab.models.he_init import he_initialised
from tests.gan.conftest import tiny_pair


@he_initialised  # drawn as before the layers took PyTorch's default init
def _classifier(size: int = 16):
    cnnlab.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(3 * size * size, 4)
    )


def test_latent_ascent_raises_the_target_logit_and_draws_in_range():
    pair, _ = tiny_pair()
    model = _classifier()
    e = generator_class_model(model, pair.generator, 2, (1, 16, 16), steps=25, batch=4)
    assert e.image.shape == (1, 16, 16) and 0 <= e.image.min() and e.image.max() <= 1
    assert e.extra["history"][-1] > e.extra["history"][0]
    assert e.extra["images"].shape == (4, 1, 16, 16) and 0 < e.extra["probability"] <= 1
    assert e.score == pytest.approx(max(e.extra["scores"]))


def test_a_unit_of_a_layer_and_a_classifier_of_another_size():
    pair, _ = tiny_pair()
    model = _classifier(20)
    e = generator_class_model(
        model, pair.generator, 0, (1, 20, 20), steps=15, batch=2, layer="1", channel=1
    )
    assert e.image.shape == (1, 20, 20) and e.target == 1 and e.extra["probability"] is None
    assert np.all(e.image[:, :2] == 0)  # the 16x16 image is padded with background
    assert e.extra["history"][-1] > e.extra["history"][0]
    with pytest.raises(ValueError, match="together"):
        generator_class_model(model, pair.generator, 0, (1, 20, 20), steps=1, layer="1")


def test_a_conditional_generator_is_given_the_target_class():
    pair, _ = tiny_pair(conditional=True)
    e = generator_class_model(_classifier(), pair.generator, 1, (1, 16, 16), steps=3, batch=2)
    assert e.extra["images"].shape == (2, 1, 16, 16)

import numpy as np
import pytest

import cnnlab
import cnnlab.nn.functional as F
from cnnlab.explain import class_model
from tests.trained import fashion_model


def _prob(model, image, target):
    with cnnlab.no_grad():
        return float(F.softmax(model(cnnlab.tensor(image[None])), dim=1).numpy()[0, target])


def test_class_model_drives_the_target_above_099_on_a_fashion_model():
    model = fashion_model()
    for target, init in [(1, "zeros"), (8, "noise"), (5, "zeros")]:
        e = class_model(model, target, shape=(1, 28, 28), steps=150, init=init)
        assert e.image.shape == (1, 28, 28)
        assert e.image.min() >= 0 and e.image.max() <= 1
        assert e.extra["probability"] > 0.99, (target, e.extra["probability"])
        assert abs(_prob(model, e.image, target) - e.extra["probability"]) < 1e-5
        assert e.extra["history"][-1] > e.extra["history"][0]


def test_regularisers_change_the_result():
    model = fashion_model()
    plain = class_model(model, 3, shape=(1, 28, 28), steps=10, l2=0, blur_every=0, jitter=0)
    reg = class_model(model, 3, shape=(1, 28, 28), steps=10)
    assert not np.allclose(plain.image, reg.image)


def test_a_layer_and_channel_make_it_maximise_that_unit():
    # the pixel-space panel beside the generator prior drives the same --layer/--channel unit
    from cnnlab.explain.base import capture, last_conv_name

    model = fashion_model()
    layer = last_conv_name(model)
    e = class_model(model, 0, shape=(1, 28, 28), steps=20, layer=layer, channel=5)
    assert e.target == 5 and e.extra["probability"] is None and e.extra["layer"] == layer
    assert e.extra["history"][-1] > e.extra["history"][0]
    with cnnlab.no_grad(), capture(model, layer) as store:
        model.eval()(cnnlab.tensor(e.image[None]))
    assert e.score == pytest.approx(float(store["out"].numpy()[0, 5].mean()), rel=1e-5)
    other = class_model(model, 0, shape=(1, 28, 28), steps=20, layer=layer, channel=6)
    assert not np.allclose(other.image, e.image)
    with pytest.raises(ValueError, match=rf"channel must be in \[0, \d+\) for layer '{layer}'"):
        class_model(model, 0, shape=(1, 28, 28), steps=1, layer=layer, channel=10_000)
    with pytest.raises(ValueError, match="together"):
        class_model(model, 0, shape=(1, 28, 28), steps=1, layer=layer)

"""``models.create(..., pretrained=True, num_classes=K)``: the ImageNet body, a fresh head,
the grey adapters, and the in-model input pipeline (resize as cnnlab.images does)."""

import numpy as np
import pytest

import cnnlab
from cnnlab import models
from cnnlab.images import resize_shorter
from cnnlab.models.imagenet_input import ImageNetInput


@pytest.fixture(scope="module")
def imagenet():
    from cnnlab.io import load_torch_checkpoint, weights_path

    try:
        return load_torch_checkpoint(weights_path("efficientnet_lite0"))
    except FileNotFoundError as e:
        pytest.skip(str(e))


def _create(**kw):
    return models.create("efficientnet_lite0", pretrained=True, **kw)


def test_a_new_head_has_the_right_shape_a_fresh_init_and_the_imagenet_body(imagenet):
    cnnlab.manual_seed(0)
    a = _create(num_classes=10)
    cnnlab.manual_seed(1)
    b = _create(num_classes=10)
    sd = a.state_dict()
    assert sd["_fc.weight"].shape == (10, 1280) and sd["_fc.bias"].shape == (10,)
    for k, v in imagenet.items():
        if not k.startswith("_fc."):
            assert np.array_equal(np.asarray(sd[k]), v), k
    w = np.asarray(sd["_fc.weight"])
    assert not np.array_equal(w, np.asarray(b.state_dict()["_fc.weight"]))  # fresh
    assert abs(w.std() - np.sqrt(2 / 1280)) < 0.2 * np.sqrt(2 / 1280)  # cnnlab's He init
    assert np.all(np.asarray(sd["_fc.bias"]) == 0)
    full = _create()
    assert np.array_equal(np.asarray(full.state_dict()["_fc.weight"]), imagenet["_fc.weight"])


def test_the_two_grey_adapters_give_the_same_outputs(imagenet):
    rep = _create(num_classes=4, in_channels=1, grey="repeat", image_size=32)
    avg = _create(num_classes=4, in_channels=1, grey="average", image_size=32)
    avg.load_state_dict(
        {**avg.state_dict(), "_fc.weight": rep._fc.weight, "_fc.bias": rep._fc.bias}
    )
    assert avg._conv_stem.weight.shape[1] == 1
    x = cnnlab.tensor(np.random.default_rng(0).random((2, 1, 28, 28)).astype(np.float32))
    with cnnlab.no_grad():
        np.testing.assert_allclose(avg(x).array, rep(x).array, rtol=1e-4, atol=1e-4)
        # repeat == the ImageNet model on the grey image copied to RGB and resized
        rgb = np.repeat(x.array, 3, axis=1)
        big = np.stack([resize_shorter(im.transpose(1, 2, 0), 32).transpose(2, 0, 1) for im in rgb])
        ref = _create(num_classes=4, image_size=None)
        ref.load_state_dict(rep.state_dict())
        np.testing.assert_allclose(
            ref(cnnlab.tensor(big)).array, rep(x).array, rtol=1e-4, atol=1e-4
        )


def test_clear_errors_for_missing_weights_and_adapters():
    with pytest.raises(ValueError, match="model 'fashion_cnn' has no pretrained weights"):
        models.create("fashion_cnn", pretrained=True)
    with pytest.raises(ValueError, match="grey must be 'repeat' or 'average'"):
        models.create("efficientnet_lite0", in_channels=1, grey="luma")


@pytest.mark.parametrize("size,shape", [(20, (9, 9)), (6, (13, 17)), (None, (5, 5))])
def test_imagenet_input_resizes_as_the_image_pipeline(size, shape):
    x = np.random.default_rng(2).random((2, 1, *shape)).astype(np.float32)
    y = ImageNetInput(size, repeat=True)(cnnlab.tensor(x)).array
    want = (
        x
        if size is None
        else np.stack([resize_shorter(im.transpose(1, 2, 0), size).transpose(2, 0, 1) for im in x])
    )
    assert y.shape == (2, 3, *want.shape[2:])
    for c in range(3):
        np.testing.assert_allclose(y[:, c], want[:, 0], rtol=1e-5, atol=1e-6)


def test_imagenet_input_gradient_float64():
    x = cnnlab.tensor(np.random.default_rng(3).random((1, 1, 5, 4)), requires_grad=True)
    assert cnnlab.gradcheck(lambda t: ImageNetInput(7, repeat=True)(t), (x,))

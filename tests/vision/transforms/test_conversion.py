"""Conversion transforms against torchvision's documented behaviour (torchvision itself is
not installed: the expected values are written out from its documentation)."""

import numpy as np
import pytest
from PIL import Image

import cnnlab
from cnnlab.vision import transforms as T


def rgb_image(h=4, w=5):
    return np.arange(h * w * 3, dtype=np.uint8).reshape(h, w, 3) * 3


def test_to_tensor_scales_uint8_and_moves_channels_first():
    a = rgb_image()
    for pic in (Image.fromarray(a), a):
        t = T.ToTensor()(pic)
        assert isinstance(t, cnnlab.Tensor) and t.shape == (3, 4, 5) and t.dtype == np.float32
        np.testing.assert_allclose(t.numpy(), a.transpose(2, 0, 1) / 255, rtol=1e-6)
    grey = T.ToTensor()(Image.fromarray(a[..., 0]))
    assert grey.shape == (1, 4, 5)
    floats = np.full((2, 2, 1), 7.0)  # non-uint8 arrays are not scaled
    assert T.ToTensor()(floats).numpy().max() == 7.0 and T.ToTensor()(floats).dtype == np.float64
    assert T.ToTensor()(Image.fromarray(np.array([[0, 1]], bool))).numpy().max() == 1.0  # mode 1
    with pytest.raises(TypeError, match="pic should be PIL Image or ndarray"):
        T.ToTensor()([1, 2])


def test_pil_to_tensor_and_back():
    a = rgb_image()
    t = T.PILToTensor()(Image.fromarray(a))
    assert t.dtype == np.uint8 and t.shape == (3, 4, 5)
    np.testing.assert_array_equal(t.numpy(), a.transpose(2, 0, 1))
    img = T.ToPILImage()(cnnlab.tensor(np.full((1, 2, 2), 0.999, np.float32)))
    assert img.mode == "L" and np.asarray(img).max() == 254  # mul(255).byte() truncates
    assert T.ToPILImage()(T.ToTensor()(Image.fromarray(a))).mode == "RGB"


def test_normalize_per_channel_and_its_checks():
    x = cnnlab.tensor(np.ones((3, 2, 2), np.float32))
    out = T.Normalize((0.5, 0.25, 0.0), (0.5, 0.25, 2.0))(x).numpy()
    np.testing.assert_allclose(out[:, 0, 0], [1.0, 3.0, 0.5])
    assert x.numpy().max() == 1.0  # not in place by default
    T.Normalize((1.0,), (1.0,), inplace=True)(x)
    assert x.numpy().max() == 0.0
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize((0.5,), (0.5,))(cnnlab.tensor(np.ones((1, 2, 2), np.uint8)))
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize((0.5,), (0.0,))(cnnlab.tensor(np.ones((1, 2, 2), np.float32)))


def test_grayscale_pil_and_tensor():
    a = rgb_image()
    g = T.Grayscale()(Image.fromarray(a))
    r, gg, b = (a[..., i].astype(int) for i in range(3))
    luma = (r * 19595 + gg * 38470 + b * 7471 + 0x8000) >> 16  # PIL's convert("L"), 601-2
    np.testing.assert_array_equal(np.asarray(g), luma)
    assert T.Grayscale(3)(Image.fromarray(a)).mode == "RGB"
    t = T.Grayscale(3)(T.ToTensor()(Image.fromarray(a)))
    want = (0.2989 * r + 0.587 * gg + 0.114 * b) / 255
    assert t.shape == (3, 4, 5)
    np.testing.assert_allclose(t.numpy()[2], want, rtol=1e-5)


def test_compose_and_lambda():
    pipeline = T.Compose([T.ToTensor(), T.Lambda(lambda t: t * 2), T.Normalize((1.0,), (1.0,))])
    out = pipeline(Image.fromarray(np.full((2, 2), 255, np.uint8)))
    np.testing.assert_allclose(out.numpy(), 1.0)
    assert "ToTensor()" in repr(pipeline)
    with pytest.raises(TypeError, match="should be callable"):
        T.Lambda(3)

"""Colour transforms: Tensors against loops written here (colorsys for hue), PIL Images
through Pillow's ImageEnhance as torchvision's, ColorJitter's draws."""

import colorsys

import numpy as np
import pytest
from PIL import Image

import cnnlab
from cnnlab.vision import transforms as T
from cnnlab.vision.transforms import functional as TF


def rgb(seed=0, h=5, w=6):
    return np.random.default_rng(seed).random((3, h, w)).astype(np.float32)


def luma(a):
    return 0.2989 * a[0] + 0.587 * a[1] + 0.114 * a[2]


def test_brightness_contrast_saturation_against_their_formulas():
    a = rgb()
    t = cnnlab.Tensor(a)
    np.testing.assert_allclose(TF.adjust_brightness(t, 1.4).array, np.clip(1.4 * a, 0, 1))
    mean = luma(a).mean()
    np.testing.assert_allclose(
        TF.adjust_contrast(t, 0.5).array, np.clip(0.5 * a + 0.5 * mean, 0, 1), rtol=1e-6
    )
    np.testing.assert_allclose(
        TF.adjust_saturation(t, 1.8).array, np.clip(1.8 * a - 0.8 * luma(a), 0, 1), atol=1e-6
    )


@pytest.mark.parametrize("factor", [0.2, -0.4, 0.5])
def test_hue_turns_hsv_hue_as_colorsys(factor):
    a = rgb(1)
    out = TF.adjust_hue(cnnlab.Tensor(a), factor).array
    for i in range(a.shape[1]):
        for j in range(a.shape[2]):
            h, s, v = colorsys.rgb_to_hsv(*a[:, i, j])
            want = colorsys.hsv_to_rgb((h + factor) % 1.0, s, v)
            np.testing.assert_allclose(out[:, i, j], want, atol=1e-5)


def test_uint8_tensors_and_grey_images():
    a = (rgb(2) * 255).astype(np.uint8)
    out = TF.adjust_brightness(cnnlab.Tensor(a), 2.0).array
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, np.clip(2.0 * a.astype(np.float32), 0, 255).astype(np.uint8))
    grey = cnnlab.Tensor(a[:1])
    assert TF.adjust_hue(grey, 0.3) is grey and TF.adjust_saturation(grey, 0.0) is grey


def test_pil_images_go_through_pillow_and_stay_images():
    a = (rgb(3) * 255).astype(np.uint8).transpose(1, 2, 0)
    img = Image.fromarray(a)
    out = TF.adjust_brightness(img, 1.5)
    assert isinstance(out, Image.Image) and out.size == img.size
    # Pillow's Brightness blends with black in 8-bit: within one level of the formula
    want = np.clip(1.5 * a.astype(np.float32), 0, 255)
    assert np.abs(np.asarray(out).astype(np.float32) - want).max() <= 1
    assert TF.adjust_hue(img, 0.0).tobytes() == img.convert("HSV").convert("RGB").tobytes()


def test_color_jitter_draws_each_factor_in_its_range_in_a_random_order():
    jitter = T.ColorJitter(brightness=0.5, contrast=(0.8, 1.2), saturation=0, hue=0.1)
    assert jitter.brightness == (0.5, 1.5) and jitter.saturation is None
    cnnlab.manual_seed(0)
    orders = set()
    for _ in range(20):
        order, b, c, s, h = jitter.get_params()
        orders.add(tuple(order))
        assert 0.5 <= b <= 1.5 and 0.8 <= c <= 1.2 and s is None and -0.1 <= h <= 0.1
    assert len(orders) > 1 and sorted(order) == [0, 1, 2, 3]
    t = cnnlab.Tensor(rgb())
    cnnlab.manual_seed(5)
    first = jitter(t).array
    cnnlab.manual_seed(5)
    np.testing.assert_array_equal(jitter(t).array, first)


def test_bad_factors_name_the_option():
    with pytest.raises(ValueError, match="ColorJitter: brightness must be non negative"):
        T.ColorJitter(brightness=-1)
    with pytest.raises(ValueError, match=r"ColorJitter: hue values should be between"):
        T.ColorJitter(hue=0.7)
    with pytest.raises(ValueError, match=r"adjust_hue: hue_factor \(0.9\) is not in"):
        TF.adjust_hue(cnnlab.Tensor(rgb()), 0.9)

"""RandomApply/Choice/Order, RandomGrayscale, GaussianBlur (against a loop and torch's
conv2d), RandomErasing and ConvertImageDtype."""

import numpy as np
import pytest
from PIL import Image

import cnnlab
from cnnlab.vision import transforms as T
from cnnlab.vision.transforms import functional as TF
from tests.helpers import requires_torch, torch


def planes(c=3, h=9, w=11, seed=0):
    return np.random.default_rng(seed).random((c, h, w)).astype(np.float32)


def gauss(k, s):
    x = np.arange(k) - (k - 1) / 2
    g = np.exp(-(x**2) / (2 * s * s))
    return g / g.sum()


def test_gaussian_blur_is_a_reflect_padded_2d_convolution():
    a = planes()
    ky, kx, sy, sx = 3, 5, 0.8, 1.3
    out = TF.gaussian_blur(cnnlab.Tensor(a), [kx, ky], [sx, sy]).array
    kernel = np.outer(gauss(ky, sy), gauss(kx, sx))
    p = np.pad(a, [(0, 0), (ky // 2, ky // 2), (kx // 2, kx // 2)], mode="reflect")
    want = np.zeros_like(a)
    for c in range(a.shape[0]):
        for i in range(a.shape[1]):
            for j in range(a.shape[2]):
                want[c, i, j] = (p[c, i : i + ky, j : j + kx] * kernel).sum()
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)


@requires_torch
def test_gaussian_blur_matches_torch_conv2d():
    a = planes(2, 12, 10, seed=1)
    kernel = torch.tensor(np.outer(gauss(7, 2.0), gauss(7, 2.0)), dtype=torch.float32)
    x = torch.nn.functional.pad(torch.tensor(a)[:, None], (3, 3, 3, 3), mode="reflect")
    want = torch.nn.functional.conv2d(x, kernel[None, None])[:, 0].numpy()
    out = TF.gaussian_blur(cnnlab.Tensor(a), 7, 2.0).array
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)


def test_gaussian_blur_keeps_uint8_and_pil_images():
    u8 = (planes() * 255).astype(np.uint8)
    out = TF.gaussian_blur(cnnlab.Tensor(u8), 3, 1.0).array
    want = np.round(TF.gaussian_blur(cnnlab.Tensor(u8.astype(np.float32)), 3, 1.0).array)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, want.astype(np.uint8))
    pil = TF.gaussian_blur(Image.fromarray(u8.transpose(1, 2, 0)), 3, 1.0)
    assert isinstance(pil, Image.Image)
    np.testing.assert_array_equal(np.asarray(pil).transpose(2, 0, 1), out)
    with pytest.raises(ValueError, match="GaussianBlur: kernel size values should be odd"):
        T.GaussianBlur(4)


def test_random_erasing_overwrites_one_rectangle():
    a = planes(3, 20, 20) + 1
    erase = T.RandomErasing(p=1.0, scale=(0.1, 0.2), value=0)
    cnnlab.manual_seed(0)
    out = erase(cnnlab.Tensor(a)).array
    zero = (out == 0).all(axis=0)
    rows, cols = np.nonzero(zero)
    assert zero.sum() == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)  # one full rectangle
    assert 0.1 * 400 * 0.8 <= zero.sum() <= 0.2 * 400 * 1.2
    np.testing.assert_array_equal(out[:, ~zero], a[:, ~zero])
    cnnlab.manual_seed(0)
    np.testing.assert_array_equal(erase(cnnlab.Tensor(a)).array, out)
    noisy = T.RandomErasing(p=1.0, value="random")(cnnlab.Tensor(a)).array
    assert (noisy != a).any()
    t = cnnlab.Tensor(a)
    assert T.RandomErasing(p=0.0)(t) is t
    with pytest.raises(TypeError, match="RandomErasing: img should be a Tensor image"):
        T.RandomErasing()(Image.fromarray(np.zeros((4, 4), np.uint8)))


def test_random_wrappers_apply_choose_and_order():
    t = cnnlab.Tensor(planes())
    flip = T.RandomHorizontalFlip(p=1.0)
    np.testing.assert_array_equal(T.RandomApply([flip], p=1.0)(t).array, t.array[..., ::-1])
    assert T.RandomApply([flip], p=0.0)(t) is t
    grey = T.Grayscale(3)
    np.testing.assert_array_equal(T.RandomChoice([flip, grey], p=[0, 1])(t).array, grey(t).array)
    both = T.RandomOrder([flip, grey])(t).array
    np.testing.assert_allclose(both, grey(flip(t)).array, rtol=1e-6)
    g = T.RandomGrayscale(p=1.0)(t).array
    assert g.shape == (3, 9, 11) and np.allclose(g[0], g[1]) and np.allclose(g[1], g[2])
    with pytest.raises(ValueError, match="RandomChoice: 2 transforms but 1 probabilities"):
        T.RandomChoice([flip, grey], p=[1])


def test_convert_image_dtype_scales_to_the_new_range():
    u8 = cnnlab.Tensor(np.array([[[0, 128, 255]]], np.uint8))
    f = T.ConvertImageDtype(cnnlab.float32)(u8).array
    np.testing.assert_allclose(f, [[[0, 128 / 255, 1]]], rtol=1e-6)
    np.testing.assert_array_equal(T.ConvertImageDtype(np.uint8)(cnnlab.Tensor(f)).array, u8.array)
    np.testing.assert_array_equal(
        T.ConvertImageDtype(np.int16)(u8).array, u8.array.astype(np.int16) * 128
    )

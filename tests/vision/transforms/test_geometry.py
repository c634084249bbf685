"""Geometric transforms: PIL Images through PIL (as torchvision), Tensors against torch."""

import numpy as np
import pytest
from PIL import Image

import cnnlab
from cnnlab.data.transforms import rng_context
from cnnlab.vision import transforms as T
from cnnlab.vision.transforms.geometry import resized_size
from tests.helpers import requires_torch, torch


def grid(h=6, w=8):
    return np.arange(h * w, dtype=np.uint8).reshape(h, w)


@pytest.mark.parametrize(
    "hw, size, want",
    [((6, 8), 3, (3, 4)), ((8, 6), 3, (4, 3)), ((7, 10), 5, (5, 7)), ((6, 8), (2, 9), (2, 9))],
)
def test_resized_size_follows_torchvision(hw, size, want):
    assert resized_size(*hw, size) == want


def test_resize_pil_is_pils_bilinear_and_max_size():
    img = Image.fromarray(grid(20, 30))
    out = T.Resize(10)(img)
    assert out.size == (15, 10)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(img.resize((15, 10), Image.BILINEAR)))
    assert T.Resize(10, max_size=12)(img).size == (12, 8)
    with pytest.raises(ValueError, match="max_size = 10 must be strictly greater"):
        T.Resize(10, max_size=10)(img)


@requires_torch
def test_resize_tensor_matches_torch_antialiased_bilinear():
    x = np.random.default_rng(0).random((2, 3, 20, 30)).astype(np.float32)
    ours = T.Resize((7, 11))(cnnlab.tensor(x)).numpy()
    theirs = torch.nn.functional.interpolate(
        torch.from_numpy(x), size=(7, 11), mode="bilinear", antialias=True, align_corners=False
    ).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    up = T.Resize((40, 45))(cnnlab.tensor(x)).numpy()
    want = torch.nn.functional.interpolate(torch.from_numpy(x), size=(40, 45), mode="bilinear")
    np.testing.assert_allclose(up, want.numpy(), atol=1e-5)
    near = T.Resize((10, 15), interpolation=T.InterpolationMode.NEAREST)(cnnlab.tensor(x))
    want = torch.nn.functional.interpolate(torch.from_numpy(x), size=(10, 15), mode="nearest")
    np.testing.assert_array_equal(near.numpy(), want.numpy())


def test_center_crop_rounds_and_pads_like_torchvision():
    a = grid(6, 8)
    out = np.asarray(T.CenterCrop((3, 5))(Image.fromarray(a)))
    # top = round((6 - 3) / 2) = round(1.5) = 2, left = round(1.5) = 2 (Python's rounding)
    np.testing.assert_array_equal(out, a[2:5, 2:7])
    big = T.CenterCrop(9)(cnnlab.tensor(a[None].astype(np.float32))).numpy()[0]
    assert big.shape == (9, 9)
    # padded (left 0, top 1, right 1, bottom 2) then cropped at round(0.5) = 0 and round(0) = 0
    np.testing.assert_array_equal(big[1:7, 0:8], a)
    assert big[0].sum() == 0 and big[:, 8].sum() == 0


def test_random_crop_padding_and_seeded_draws():
    a = grid(4, 4)
    with rng_context(np.random.default_rng(0)):
        out = T.RandomCrop(4, padding=1)(cnnlab.tensor(a[None]))
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, 3), rng.integers(0, 3)
    padded = np.pad(a, 1)
    np.testing.assert_array_equal(out.numpy()[0], padded[i : i + 4, j : j + 4])
    assert T.RandomCrop(6, pad_if_needed=True)(Image.fromarray(a)).size == (6, 6)
    with pytest.raises(ValueError, match="larger than input image size"):
        T.RandomCrop(5)(Image.fromarray(a))


def test_flips_and_pad():
    a = grid(2, 3)
    img = Image.fromarray(a)
    np.testing.assert_array_equal(np.asarray(T.RandomHorizontalFlip(1.0)(img)), a[:, ::-1])
    np.testing.assert_array_equal(np.asarray(T.RandomVerticalFlip(1.0)(img)), a[::-1])
    assert T.RandomHorizontalFlip(0.0)(img) is img
    padded = T.Pad((1, 2), fill=9)(cnnlab.tensor(a[None]))  # left/right 1, top/bottom 2
    assert padded.shape == (1, 6, 5) and padded.numpy()[0, 0, 0] == 9
    np.testing.assert_array_equal(
        np.asarray(T.Pad(1, padding_mode="edge")(img)), np.pad(a, 1, "edge")
    )
    with pytest.raises(TypeError, match="PIL Image or Tensor"):
        T.RandomHorizontalFlip()(a)


def test_random_resized_crop_window_and_fallback():
    t = T.RandomResizedCrop(8, scale=(0.25, 0.5))
    with rng_context(np.random.default_rng(0)):
        i, j, h, w = t.get_params(40, 40)
    assert 0.2 * 1600 <= h * w <= 0.55 * 1600 and 0.7 < w / h < 1.4
    assert 0 <= i <= 40 - h and 0 <= j <= 40 - w
    assert t(Image.fromarray(grid(40, 40))).size == (8, 8)
    assert t(cnnlab.tensor(np.ones((3, 40, 40), np.float32))).shape == (3, 8, 8)
    # a 1x20 strip cannot hold a 3/4..4/3 window of 25-50% of its area: the centre fallback
    assert T.RandomResizedCrop(4, scale=(0.25, 0.5)).get_params(1, 20) == (0, 9, 1, 1)

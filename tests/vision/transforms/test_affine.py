"""Affine transforms: PIL Images through PIL, Tensors sampled by cnnlab, checked against
plain rotations, PIL's own resampling and torch's ``grid_sample`` (torchvision's tensor path)."""

import numpy as np
import pytest
from PIL import Image

import cnnlab
from cnnlab.vision import transforms as T
from cnnlab.vision.transforms import functional as TF
from cnnlab.vision.transforms.affine import inverse_affine_matrix
from cnnlab.vision.transforms.geometry import InterpolationMode
from tests.helpers import requires_torch, torch


def image(c=3, h=9, w=12, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (c, h, w), dtype=np.uint8)


def test_rotate_by_quarter_turns_is_rot90():
    a = image(3, 8, 8)
    for k in (1, 2, 3):
        out = TF.rotate(cnnlab.Tensor(a), 90.0 * k).array
        np.testing.assert_array_equal(out, np.rot90(a, k, axes=(1, 2)))


def test_affine_translation_shifts_and_fills():
    a = image(1, 6, 7).astype(np.float32)
    out = TF.affine(cnnlab.Tensor(a), 0.0, [2, 1], 1.0, 0.0, fill=[9.0]).array
    want = np.full_like(a, 9.0)
    want[:, 1:, 2:] = a[:, :-1, :-2]
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize(
    "angle, translate, scale, shear",
    [(30.0, [2, -1], 1.2, [10.0, 5.0]), (-20.0, [1, 2], 0.9, [0.0, 0.0]), (45.0, [0, 0], 1.0, 0)],
)
def test_tensor_path_matches_pils_resampling(angle, translate, scale, shear):
    a = image()
    pil = Image.fromarray(a.transpose(1, 2, 0))
    theirs = np.asarray(TF.affine(pil, angle, translate, scale, shear)).transpose(2, 0, 1)
    ours = TF.affine(cnnlab.Tensor(a), angle, translate, scale, shear).array
    np.testing.assert_array_equal(ours, theirs)


@requires_torch
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_tensor_path_matches_torch_grid_sample(mode):
    a = np.random.default_rng(1).random((2, 3, 9, 12)).astype(np.float32)
    h, w = a.shape[-2:]
    m = inverse_affine_matrix((w / 2, h / 2), 25.0, (1, -2), 1.1, (8.0, -4.0))
    # the input point of each output pixel centre, in grid_sample's [-1, 1] (align_corners=False)
    ys, xs = np.meshgrid(np.arange(h) + 0.5, np.arange(w) + 0.5, indexing="ij")
    gx = (m[0] * xs + m[1] * ys + m[2]) / w * 2 - 1
    gy = (m[3] * xs + m[4] * ys + m[5]) / h * 2 - 1
    grid = torch.tensor(np.stack([gx, gy], -1)[None].repeat(2, 0), dtype=torch.float32)
    want = torch.nn.functional.grid_sample(
        torch.tensor(a), grid, mode=mode, padding_mode="zeros", align_corners=False
    ).numpy()
    ours = TF.affine(cnnlab.Tensor(a), 25.0, (1, -2), 1.1, (8.0, -4.0), InterpolationMode(mode))
    np.testing.assert_allclose(ours.array, want, atol=1e-5)


def test_rotate_expand_holds_the_whole_image():
    a = image(3, 13, 17)
    out = TF.rotate(cnnlab.Tensor(a), 33.0, expand=True)
    pil = TF.rotate(Image.fromarray(a.transpose(1, 2, 0)), 33.0, expand=True)
    assert out.shape == (3, pil.size[1], pil.size[0]) == (3, 21, 23)
    assert out.array.astype(int).sum() == pytest.approx(a.astype(int).sum(), rel=0.05)


def test_random_rotation_and_affine_draw_from_cnnlabs_generator():
    a = cnnlab.Tensor(image())
    rot = T.RandomRotation(30)
    aff = T.RandomAffine(15, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5)
    cnnlab.manual_seed(3)
    first = [rot(a).array, aff(a).array]
    cnnlab.manual_seed(3)
    again = [rot(a).array, aff(a).array]
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(first[0], a.array)
    angle, (tx, ty), scale, shear = aff.get_params(12, 9)
    assert -15 <= angle <= 15 and abs(tx) <= 1.2 and abs(ty) <= 0.9 and 0.9 <= scale <= 1.1
    assert -5 <= shear[0] <= 5 and shear[1] == 0
    assert T.RandomRotation((10, 20)).degrees == (10.0, 20.0)


def test_bad_arguments_say_what_was_expected():
    with pytest.raises(ValueError, match="RandomRotation: degrees: if it is a single number"):
        T.RandomRotation(-3)
    with pytest.raises(ValueError, match=r"RandomAffine: translate values should be in \[0, 1\]"):
        T.RandomAffine(0, translate=(2, 0))
    with pytest.raises(ValueError, match="affine: interpolation should be NEAREST or BILINEAR"):
        TF.rotate(cnnlab.Tensor(image()), 10.0, interpolation=InterpolationMode.BICUBIC)

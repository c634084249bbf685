"""RandomShiftFlip moves an image and its mask together, against a per-image loop."""

import numpy as np
import pytest

from cnnlab.data.mask_transforms import RandomShiftFlip


def _loop_reference(imgs, masks, padding, p, rng):
    """One image at a time, drawing in the transform's order: all shifts, then all flips."""
    n, _, h, w = imgs.shape
    top = rng.integers(0, 2 * padding + 1, size=n)
    left = rng.integers(0, 2 * padding + 1, size=n)
    flip = rng.random(n) < p
    out_i, out_m = np.zeros_like(imgs), np.zeros_like(masks)
    for k in range(n):
        for y in range(h):
            for x in range(w):
                xs = w - 1 - x if flip[k] else x  # the flip reads the shifted image mirrored
                sy, sx = y + top[k] - padding, xs + left[k] - padding
                if 0 <= sy < h and 0 <= sx < w:
                    out_i[k, :, y, x] = imgs[k, :, sy, sx]
                    out_m[k, y, x] = masks[k, sy, sx]
    return out_i, out_m


def test_shift_and_flip_match_a_loop_and_keep_labels_on_their_pixels():
    rng = np.random.default_rng(0)
    imgs = rng.random((6, 2, 9, 7)).astype(np.float32) + 1.0  # never the fill value 0
    masks = rng.integers(1, 5, (6, 9, 7))
    t = RandomShiftFlip(padding=3, p=0.5)
    got_i, got_m = t.batch(imgs, masks, np.random.default_rng(1))
    ref_i, ref_m = _loop_reference(imgs, masks, 3, 0.5, np.random.default_rng(1))
    np.testing.assert_array_equal(got_i, ref_i)
    np.testing.assert_array_equal(got_m, ref_m)
    assert ((got_m == 0) == (got_i[:, 0] == 0)).all()  # uncovered: background in both
    one_i, one_m = t(imgs[0], masks[0], np.random.default_rng(2))
    assert one_i.shape == imgs[0].shape and one_m.shape == masks[0].shape


def test_bad_arguments_say_what_was_expected():
    with pytest.raises(ValueError, match="padding must be >= 0 and p in"):
        RandomShiftFlip(padding=-1)
    with pytest.raises(ValueError, match=r"masks \(N, H, W\)"):
        RandomShiftFlip().batch(np.zeros((2, 1, 4, 4)), np.zeros((2, 4, 5)))

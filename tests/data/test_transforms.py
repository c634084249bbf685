import numpy as np
import pytest
from scipy import ndimage

import cnnlab
from cnnlab.data import transforms as T


def images(n=4, c=2, h=7, w=9, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(np.float32)


ALL = [
    T.ToFloat(),
    T.Normalize([0.5, 0.2], [0.25, 2.0]),
    T.RandomCrop(5, padding=2),
    T.RandomHorizontalFlip(),
    T.RandomAffine(15, translate=(0.1, 0.2), scale=(0.8, 1.2)),
    T.ElasticDistortion(3.0, 2.0),
    T.Compose([T.RandomHorizontalFlip(), T.RandomAffine(10), T.Normalize(0.5, 0.5)]),
]


@pytest.mark.parametrize("t", ALL, ids=lambda t: type(t).__name__)
def test_shapes_dtypes_and_seeded_determinism(t):
    x = images()
    out = t.batch(x, np.random.default_rng(1))
    expect = (4, 2, 5, 5) if isinstance(t, T.RandomCrop) else x.shape
    assert out.shape == expect and out.dtype == np.float32
    np.testing.assert_array_equal(out, t.batch(x, np.random.default_rng(1)))
    one = t(x[0], np.random.default_rng(1))
    assert one.shape == expect[1:]
    cnnlab.manual_seed(7)
    a = t(x[0])
    cnnlab.manual_seed(7)
    np.testing.assert_array_equal(a, t(x[0]))
    with T.rng_context(np.random.default_rng(3)):
        b = t.batch(x)
    np.testing.assert_array_equal(b, t.batch(x, np.random.default_rng(3)))
    with pytest.raises(ValueError, match=r"expected a \(C, H, W\) image"):
        t(x)  # a batch is not one image


def test_to_float_and_normalize():
    u = np.array([[[0, 51, 255]]], dtype=np.uint8)
    np.testing.assert_allclose(T.ToFloat()(u), [[[0, 0.2, 1]]], rtol=1e-6)
    x = images(c=3)
    out = T.Normalize([0.1, 0.2, 0.3], [1, 2, 4]).batch(x)
    for ch, (m, s) in enumerate([(0.1, 1), (0.2, 2), (0.3, 4)]):
        np.testing.assert_allclose(out[:, ch], (x[:, ch] - m) / s, rtol=1e-6)
    with pytest.raises(ValueError, match="2 channel means"):
        T.Normalize([0, 0], [1, 1]).batch(x)


def test_horizontal_flip_flips_about_half_and_p_0_and_1_are_exact():
    x = images(n=50)
    out = T.RandomHorizontalFlip(p=0.5).batch(x, np.random.default_rng(0))
    flipped = [np.array_equal(o, i[..., ::-1]) for o, i in zip(out, x)]
    kept = [np.array_equal(o, i) for o, i in zip(out, x)]
    assert all(f != k for f, k in zip(flipped, kept)) and 10 < sum(flipped) < 40
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(x[0]), x[0][..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(x[0]), x[0])


def test_crop_with_padding():
    x = images(n=30, h=6, w=5)
    out = T.RandomCrop((4, 3), padding=(2, 1), fill=-1.0).batch(x, np.random.default_rng(0))
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (1, 1)), constant_values=-1.0)
    offsets = set()
    for o, p in zip(out, padded):
        hits = [
            (i, j)
            for i in range(padded.shape[2] - 3)
            for j in range(padded.shape[3] - 2)
            if np.array_equal(o, p[:, i : i + 4, j : j + 3])
        ]
        assert hits, "every crop is a window of the padded image"
        offsets.add(hits[0])
    assert len(offsets) > 5
    np.testing.assert_array_equal(T.RandomCrop((6, 5))(x[0]), x[0])  # full-size crop


def test_affine_identity_and_known_moves():
    x = images()
    np.testing.assert_allclose(T.RandomAffine(0).batch(x), x, atol=1e-6)
    ident = T.RandomAffine(0, translate=(0, 0), scale=(1, 1)).batch(x)
    np.testing.assert_allclose(ident, x, atol=1e-6)
    # 90 degrees counter-clockwise on screen, square image: exact
    sq = images(h=5, w=5)
    rot = T.RandomAffine((90, 90)).batch(sq)
    np.testing.assert_allclose(rot, np.rot90(sq, k=1, axes=(2, 3)), atol=1e-5)
    # translations are whole pixels: content shifts and the uncovered border gets ``fill``
    x = images(n=20, h=5, w=5)
    out = T.RandomAffine(0, translate=(0.5, 0), fill=-2.0).batch(x, np.random.default_rng(0))

    def shifted(img, s):
        expect = np.full_like(img, -2.0)
        if s >= 0:
            expect[:, :, s:] = img[:, :, : 5 - s]
        else:
            expect[:, :, :s] = img[:, :, -s:]
        return expect

    seen = set()
    for o, i in zip(out, x):
        (match,) = [s for s in range(-2, 3) if np.allclose(o, shifted(i, s), atol=1e-6)]
        seen.add(match)
    assert len(seen) >= 3


def test_resample_matches_scipy():
    x = images(n=3, c=2, h=6, w=8)
    rng = np.random.default_rng(0)
    sy, sx = rng.uniform(-2, 8, (3, 6, 8)), rng.uniform(-2, 10, (3, 6, 8))
    out = T._resample(x, sy, sx, 0.25)
    for n in range(3):
        for c in range(2):
            ref = ndimage.map_coordinates(
                x[n, c], [sy[n], sx[n]], order=1, mode="grid-constant", cval=0.25
            )
            np.testing.assert_allclose(out[n, c], ref, atol=1e-6)


def test_elastic_alpha_0_is_identity_and_channels_move_together():
    x = images()
    np.testing.assert_allclose(T.ElasticDistortion(alpha=0, sigma=4).batch(x), x, atol=1e-6)
    out = T.ElasticDistortion(alpha=8, sigma=3).batch(x, np.random.default_rng(0))
    assert not np.allclose(out, x)
    # channels of one image move together: same field on equal channels
    same = np.repeat(x[:, :1], 2, axis=1)
    out = T.ElasticDistortion(5, 2).batch(same, np.random.default_rng(0))
    np.testing.assert_array_equal(out[:, 0], out[:, 1])


def test_compose_with_plain_callable_is_not_batchable():
    c = T.Compose([T.RandomHorizontalFlip(1.0), lambda img: img * 2])
    assert not c.batchable
    x = images()
    np.testing.assert_allclose(c(x[0]), x[0][..., ::-1] * 2)
    with pytest.raises(TypeError, match="vectorised"):
        c.batch(x)

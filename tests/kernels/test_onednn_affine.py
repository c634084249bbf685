"""oneDNN's per-channel affine map (the binary primitive with a post-op) against NumPy."""

import numpy as np
import pytest

from cnnlab.kernels import onednn
from tests.helpers import seeded

pytestmark = pytest.mark.skipif(
    not onednn.available(), reason=f"oneDNN kernels unavailable: {onednn.why_unavailable()}"
)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 5, 7), (4, 16, 8, 8), (3, 33, 1, 19)])
def test_channel_affine_matches_numpy(shape):
    rng = seeded(0)
    x = rng.standard_normal(shape).astype(np.float32)
    scale = rng.standard_normal(shape[1]).astype(np.float32)
    shift = rng.standard_normal(shape[1]).astype(np.float32)
    want = x * scale[:, None, None] + shift[:, None, None]
    np.testing.assert_allclose(onednn.channel_affine(x, scale, shift), want, rtol=1e-6, atol=1e-6)
    # in place, and a second call of the cached plan on other arrays
    y = x.copy()
    assert onednn.channel_affine(y, scale, shift, out=y) is y
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        onednn.channel_affine(-x, scale, shift),
        -x * scale[:, None, None] + shift[:, None, None],
        rtol=1e-6,
        atol=1e-6,
    )


def test_channel_affine_needs_nchw():
    with pytest.raises(ValueError, match=r"expected \(N, C, H, W\), got \(2, 3\)"):
        onednn.channel_affine(np.zeros((2, 3), np.float32), np.ones(3, np.float32), np.zeros(3))


def test_one_pixel_images_are_declined_and_batch_norm_stays_right():
    """Regression: oneDNN 3.2 adds the shift of (N, C, 1, 1) images along the wrong axis."""
    x = seeded(1).standard_normal((6, 4, 1, 1)).astype(np.float32)
    one, shift = np.ones(4, np.float32), np.arange(4, dtype=np.float32)
    with pytest.raises(ValueError, match="one pixel"):
        onednn.channel_affine(x, one, shift)
    zero = np.zeros(4, np.float32)
    y = onednn.batch_norm_inference(x[:, :, 0, 0], one, shift, zero, one, eps=0.0)
    np.testing.assert_allclose(y, x[:, :, 0, 0] + shift, rtol=1e-6, atol=1e-6)

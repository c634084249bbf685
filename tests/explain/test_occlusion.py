import numpy as np
import pytest

from cnnlab import nn
from cnnlab.explain import occlusion


def _quadrant_model(quadrant):
    """Linear scorer that looks only at one 8x8 quadrant of a 16x16 image (class 1)."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(16 * 16, 2))
    w = np.zeros((2, 16, 16), np.float32)
    r, c = quadrant
    w[1, r * 8 : r * 8 + 8, c * 8 : c * 8 + 8] = 1.0
    model[1].weight.array[...] = w.reshape(2, -1)
    model[1].bias.array[...] = 0
    return model


@pytest.mark.parametrize("quadrant", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_occlusion_finds_the_only_quadrant_that_matters(quadrant):
    x = np.ones((1, 16, 16), np.float32)
    e = occlusion(_quadrant_model(quadrant), x, target=1, patch=4, stride=2, fill=0.0)
    r, c = quadrant
    inside = e.map[r * 8 : r * 8 + 8, c * 8 : c * 8 + 8]
    assert inside.sum() / e.map.sum() > 0.85  # patches straddling the edge spill a little
    near = np.zeros((16, 16), bool)  # the quadrant grown by patch - 1 = 3 pixels
    near[max(r * 8 - 3, 0) : r * 8 + 11, max(c * 8 - 3, 0) : c * 8 + 11] = True
    assert np.all(e.map[~near] == 0)
    peak = np.unravel_index(np.argmax(e.map), e.map.shape)
    assert (peak[0] // 8, peak[1] // 8) == quadrant
    # a 4x4 patch of ones wholly inside removes 16 from the score
    np.testing.assert_allclose(inside[2:6, 2:6], 16.0)
    assert e.extra["grid"].shape == (7, 7)


def test_prob_score_and_progress_and_edge_cover():
    seen = []
    x = np.full((1, 16, 16), 0.1, np.float32)  # logit 6.4: the probability is not saturated
    e = occlusion(
        _quadrant_model((1, 1)),
        x,
        target=1,
        patch=5,
        stride=4,
        score="prob",
        fill=0,
        batch_size=4,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert e.extra["rows"] == [0, 4, 8, 11]  # the last patch reaches the far edge
    assert seen[-1] == (16, 16)
    assert (e.map <= 1).all() and e.map.max() > 0
    with pytest.raises(ValueError, match="patch"):
        occlusion(_quadrant_model((0, 0)), x, patch=17)

"""Saliency of the pretrained EfficientNet-Lite0 on scikit-image's ``chelsea`` (a tabby cat).

Measures (stated because "on the cat" needs one):
- fast: chelsea scaled to half the height of a mid-grey 112x112 canvas. The fraction of the
  saliency mass (sum of the map) inside the photo's rectangle must exceed 1.2 times the
  rectangle's area fraction (0.375), i.e. the map is denser on the photo than on the grey.
- slow: the whole photo resized to 224x224 (what ``cnnlab explain`` does with a non-square
  file, minus the crop). The cat fills columns 0-184, the right 39 columns are background
  (hand-marked). After a Gaussian blur of 4 px (vanilla gradients are speckled), at least 95 %
  of the brightest 5 % of the map lies on the cat (chance: 83 %), and the mean saliency on the
  cat exceeds the background's by at least 5 %.
"""

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from cnnlab import models
from cnnlab.explain import saliency

skimage_data = pytest.importorskip("skimage.data")
CATS = range(281, 286)  # ImageNet: tabby, tiger cat, Persian, Siamese, Egyptian cat


@pytest.fixture(scope="module")
def effnet():
    try:
        return models.create("efficientnet_lite0", pretrained=True)
    except (OSError, ValueError) as e:  # weights not installed
        pytest.skip(f"EfficientNet-Lite0 weights unavailable: {e}")


def _resized(size) -> np.ndarray:
    im = Image.fromarray(skimage_data.chelsea()).resize(size, Image.BILINEAR)
    return np.asarray(im, np.float32) / 255.0


def test_saliency_is_denser_on_the_cat_than_on_a_grey_surround(effnet):
    s, h, w = 112, 56, 84
    canvas = np.full((s, s, 3), 0.5, np.float32)
    top, left = (s - h) // 2, (s - w) // 2
    canvas[top : top + h, left : left + w] = _resized((w, h))
    e = saliency(effnet, canvas.transpose(2, 0, 1))
    assert e.target in CATS
    frac = e.map[top : top + h, left : left + w].sum() / e.map.sum()
    assert frac > 1.2 * (h * w) / (s * s), frac


@pytest.mark.slow
def test_saliency_on_the_chelsea_photo_falls_on_the_cat(effnet):
    x = _resized((224, 224)).transpose(2, 0, 1)
    e = saliency(effnet, x)
    assert e.target in CATS
    cat = np.zeros((224, 224), bool)
    cat[:, :185] = True
    m = gaussian_filter(e.map, 4)
    top = m >= np.quantile(m, 0.95)
    assert (top & cat).sum() / top.sum() >= 0.95
    assert m[cat].mean() >= 1.05 * m[~cat].mean()

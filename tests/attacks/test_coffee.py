"""The "school bus -> ostrich" picture: targeted PGD on the pretrained EfficientNet-Lite0 turns
scikit-image's coffee photo into an ostrich with an invisible change."""

from __future__ import annotations

import numpy as np
import pytest

from cnnlab import models
from cnnlab.attacks import pgd, predict_proba

OSTRICH, ESPRESSO = 9, 967
EPS = 4 / 255


def coffee(size: int) -> np.ndarray:
    skdata = pytest.importorskip("skimage.data")
    from PIL import Image

    img = skdata.coffee()  # (400, 600, 3) uint8
    h, w = img.shape[:2]
    s = min(h, w)
    crop = img[(h - s) // 2 : (h + s) // 2, (w - s) // 2 : (w + s) // 2]
    x = np.asarray(Image.fromarray(crop).resize((size, size), Image.BILINEAR), np.float32)
    return (x / 255.0).transpose(2, 0, 1)[None]


@pytest.fixture(scope="module")
def effnet():
    try:
        return models.create("efficientnet_lite0", pretrained=True).eval()
    except (FileNotFoundError, OSError, RuntimeError, ValueError) as e:
        pytest.skip(f"EfficientNet-Lite0 weights unavailable: {e}")


@pytest.mark.slow
def test_coffee_becomes_an_ostrich(effnet):
    x = coffee(224)
    assert predict_proba(effnet, x).argmax() == ESPRESSO
    r = pgd(effnet, x, eps=EPS, alpha=1 / 255, steps=20, target=OSTRICH, random_start=False)
    print(f"coffee -> ostrich: confidence {r.adv_conf[0]:.4f}, L∞ {r.linf[0] * 255:.2f}/255")
    assert r.success[0] and r.adv_pred[0] == OSTRICH
    assert r.adv_conf[0] >= 0.99
    assert r.linf[0] <= EPS + 1e-6
    assert r.x_adv.min() >= 0 and r.x_adv.max() <= 1


def test_targeted_pgd_moves_effnet_towards_the_target(effnet):
    """The fast version: a 128x128 image, three steps; the target's probability must climb
    by orders of magnitude (measured: 2e-9 -> 3e-3)."""
    x = coffee(128)
    p = predict_proba(effnet, x)[0]
    assert p.argmax() == ESPRESSO
    r = pgd(effnet, x, eps=EPS, alpha=1.5 / 255, steps=3, target=OSTRICH, random_start=False)
    after = predict_proba(effnet, r.x_adv)[0, OSTRICH]
    assert after > 1e4 * p[OSTRICH]
    assert r.linf[0] <= EPS + 1e-6 and r.x_adv.min() >= 0 and r.x_adv.max() <= 1

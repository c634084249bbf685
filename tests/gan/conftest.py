"""Tiny GANs and data for the GAN tests (16x16 images, narrow networks: fast)."""

import numpy as np
import pytest

import cnnlab
from cnnlab.gan import build_gan, gan_config


def blobs(n: int = 64, size: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images in [-1, 1]: a bright square at one of two places (the class) on dark ground."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = np.full((n, 1, size, size), -1.0, np.float32)
    for i, c in enumerate(y):
        r = 2 + int(rng.integers(0, 3))
        o = 2 if c == 0 else size // 2
        x[i, 0, r : r + 5, o : o + 5] = 1.0
    x += 0.05 * rng.standard_normal(x.shape).astype(np.float32)
    return np.clip(x, -1, 1), y


def tiny_pair(conditional: bool = False, seed: int = 0, size: int = 16):
    cnnlab.manual_seed(seed)
    cfg = gan_config(1, size, latent=8, ngf=4, ndf=4, classes=["a", "b"], conditional=conditional)
    return build_gan(cfg), cfg


@pytest.fixture
def data():
    return blobs()

"""Samples, interpolations (linear and spherical) and nearest neighbours."""

import numpy as np
import pytest

from cnnlab.gan import generate, interpolate, nearest_neighbours, sample, slerp
from tests.gan.conftest import tiny_pair


def test_interpolation_endpoints_equal_the_two_samples():
    pair, _ = tiny_pair()
    g = pair.generator
    images, z = sample(g, 2, seed=3, return_latent=True)
    for use_slerp in (False, True):
        path = interpolate(g, z[0], z[1], steps=6, use_slerp=use_slerp)
        assert path.shape == (6, 1, 16, 16)
        np.testing.assert_allclose(path[0], images[0], atol=1e-6)
        np.testing.assert_allclose(path[-1], images[1], atol=1e-6)


def test_slerp_keeps_the_norm_and_the_line_does_not():
    rng = np.random.default_rng(0)
    z0, z1 = rng.standard_normal(100), rng.standard_normal(100)
    z1 *= np.linalg.norm(z0) / np.linalg.norm(z1)
    t = np.linspace(0, 1, 7)
    norms = np.linalg.norm(slerp(z0, z1, t), axis=1)
    np.testing.assert_allclose(norms, np.linalg.norm(z0), rtol=1e-9)
    line = (1 - t[:, None]) * z0 + t[:, None] * z1
    assert np.linalg.norm(line[3]) < 0.8 * np.linalg.norm(z0)  # the dip slerp avoids
    np.testing.assert_allclose(slerp(z0, 2 * z0, t)[-1], 2 * z0)  # parallel: the line


def test_sample_is_in_unit_range_seeded_and_leaves_training_mode():
    pair, _ = tiny_pair()
    g = pair.generator.train()
    a, b = sample(g, 5, seed=1), sample(g, 5, seed=1)
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0 and a.max() <= 1 and g.training
    with pytest.raises(ValueError, match="not conditional"):
        sample(g, 2, classes=1)


def test_conditional_sample_uses_the_class():
    pair, _ = tiny_pair(conditional=True)
    g = pair.generator
    z = np.random.default_rng(0).standard_normal((3, g.nz)).astype(np.float32)
    a, b = generate(g, z, [0, 0, 0]), generate(g, z, [1, 1, 1])
    assert not np.allclose(a, b)
    with pytest.raises(ValueError, match="give classes"):
        generate(g, z)


def test_nearest_neighbours_against_brute_force():
    rng = np.random.default_rng(1)
    data, queries = rng.standard_normal((50, 2, 3, 3)), rng.standard_normal((7, 2, 3, 3))
    idx, dist = nearest_neighbours(queries, data, k=4, chunk=3)
    d = np.sqrt(((queries.reshape(7, 1, -1) - data.reshape(1, 50, -1)) ** 2).sum(-1))
    np.testing.assert_array_equal(idx, np.argsort(d, axis=1)[:, :4])
    np.testing.assert_allclose(dist, np.sort(d, axis=1)[:, :4], rtol=1e-9)
    idx, dist = nearest_neighbours(data[:3], data, k=1)  # a copy is its own neighbour
    np.testing.assert_array_equal(idx[:, 0], [0, 1, 2])
    assert np.allclose(dist, 0, atol=1e-6)

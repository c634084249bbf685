"""Sample metrics against known answers."""

import numpy as np
import pytest

from cnnlab.gan.metrics import (
    classifier_score,
    frechet_distance,
    frechet_distance_from_stats,
    kth_neighbour_radii,
    precision_recall,
)


def test_frechet_distance_of_a_gaussian_with_itself_is_zero():
    x = np.random.default_rng(0).standard_normal((500, 6))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_of_shifted_features_is_the_squared_shift():
    x = np.random.default_rng(1).standard_normal((400, 5)) @ np.diag([1, 2, 3, 0.5, 1])
    shift = np.array([1.0, -2.0, 0.5, 0.0, 3.0])
    assert frechet_distance(x, x + shift) == pytest.approx(shift @ shift, rel=1e-6)


def test_frechet_distance_from_stats_matches_the_closed_form():
    # commuting (diagonal) covariances: |dmu|^2 + sum (sqrt(a) - sqrt(b))^2
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    mu1, mu2 = np.zeros(3), np.array([1.0, 2.0, 2.0])
    want = 9.0 + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    got = frechet_distance_from_stats(mu1, np.diag(a), mu2, np.diag(b))
    assert got == pytest.approx(want, rel=1e-9)


def test_frechet_distance_from_stats_general_covariances():
    # a rotated covariance against the identity: Tr(S) + D - 2 Tr(S^(1/2))
    rng = np.random.default_rng(2)
    q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    eig = np.array([0.25, 1.0, 4.0, 9.0])
    s = q @ np.diag(eig) @ q.T
    want = eig.sum() + 4 - 2 * np.sqrt(eig).sum()
    assert frechet_distance_from_stats(np.zeros(4), s, np.zeros(4), np.eye(4)) == pytest.approx(
        want, rel=1e-8
    )


def test_frechet_distance_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="frechet_distance"):
        frechet_distance_from_stats(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        frechet_distance(np.zeros(5), np.zeros(5))


def test_classifier_score_known_values():
    k = 10
    one_hot = np.eye(k)[np.arange(200) % k]
    assert classifier_score(one_hot) == pytest.approx(k, rel=1e-6)
    assert classifier_score(np.full((50, k), 1 / k)) == pytest.approx(1.0)
    same_class = np.eye(k)[np.zeros(50, int)]
    assert classifier_score(same_class) == pytest.approx(1.0)


def test_kth_neighbour_radii_on_a_line():
    x = np.array([[0.0], [1.0], [3.0], [6.0]])
    np.testing.assert_allclose(kth_neighbour_radii(x, k=1), [1, 1, 2, 3])
    np.testing.assert_allclose(kth_neighbour_radii(x, k=2, chunk=2), [3, 2, 3, 5])


def test_precision_recall_identical_sets_are_one_one():
    x = np.random.default_rng(3).standard_normal((300, 4))
    assert precision_recall(x, x.copy(), k=3) == (1.0, 1.0)


def test_precision_recall_disjoint_clusters_are_zero_zero():
    rng = np.random.default_rng(4)
    real = rng.standard_normal((200, 3))
    fake = rng.standard_normal((200, 3)) + 100.0
    assert precision_recall(real, fake, k=3) == (0.0, 0.0)


def test_precision_recall_of_a_collapsed_generator_has_high_precision_low_recall():
    rng = np.random.default_rng(5)
    real = rng.standard_normal((400, 2))
    fake = real[:10].repeat(40, axis=0) + 1e-3 * rng.standard_normal((400, 2))
    precision, recall = precision_recall(real, fake, k=3)
    assert precision == 1.0 and recall < 0.2

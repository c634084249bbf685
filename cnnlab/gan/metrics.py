"""Numbers for generated samples, computed in the feature space of a classifier of the same
data set (Inception features mean little for digits and clothes):

- Fréchet distance (Heusel et al. 2017): between Gaussians fitted to two sets of features,
  ``|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))``;
- classifier score (the Inception-score analogue, Salimans et al. 2016):
  ``exp(E_x KL(p(y|x) || p(y)))``, between 1 (every sample predicted alike) and the number of
  classes (each sample confidently one class, all classes equally often);
- precision and recall (Kynkäänniemi et al. 2019): a set's manifold is the union of balls
  around its points reaching each point's k-th nearest neighbour; precision is the share of
  generated points inside the real manifold, recall the share of real points inside the
  generated one.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = [
    "classifier_score",
    "frechet_distance",
    "frechet_distance_from_stats",
    "kth_neighbour_radii",
    "precision_recall",
]


def _features(x, name: str) -> np.ndarray:
    a = np.asarray(x, np.float64)
    if a.ndim != 2 or len(a) < 2:
        raise ValueError(f"{name}: features must be (N, D) with N >= 2, got shape {a.shape}")
    return a


def frechet_distance_from_stats(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2).

    Shape:
        - mu: (D,); sigma: (D, D)
    """
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    s1, s2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (len(mu1), len(mu1)):
        raise ValueError(
            f"frechet_distance: means {mu1.shape}, {mu2.shape} and covariances "
            f"{s1.shape}, {s2.shape} do not fit"
        )
    with warnings.catch_warnings():  # a singular product is handled below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all():  # singular product: nudge both diagonals
            eps = np.eye(len(s1)) * 1e-6
            covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = np.real(covmean)  # rounding leaves a tiny imaginary part
    diff = mu1 - mu2
    value = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean)
    return float(max(value, 0.0))


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted (mean, covariance) to two feature sets.

    Shape:
        - x: (N, D); y: (M, D)
    """
    x, y = _features(x, "frechet_distance"), _features(y, "frechet_distance")
    return frechet_distance_from_stats(
        x.mean(0), np.cov(x, rowvar=False), y.mean(0), np.cov(y, rowvar=False)
    )


def classifier_score(probs: np.ndarray, eps: float = 1e-12) -> float:
    """``exp(mean KL(p(y|x) || p(y)))`` of class probabilities (rows sum to 1).

    Shape:
        - probs: (N, K)
    """
    p = np.asarray(probs, np.float64)
    if p.ndim != 2:
        raise ValueError(f"classifier_score: probs must be (N, K), got {p.shape}")
    marginal = p.mean(0, keepdims=True)
    kl = (p * (np.log(p + eps) - np.log(marginal + eps))).sum(1)
    return float(np.exp(kl.mean()))


def _sq_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0.0)


def kth_neighbour_radii(x: np.ndarray, k: int = 3, chunk: int = 1024) -> np.ndarray:
    """Distance from each row of ``x`` to its ``k``-th nearest other row.

    Shape:
        - x: (N, D); output: (N,)
    """
    x = np.asarray(x, np.float64)
    if not 1 <= k < len(x):
        raise ValueError(f"precision_recall: k must be in [1, {len(x)}), got {k}")
    out = np.empty(len(x))
    for i in range(0, len(x), chunk):
        d2 = _sq_distances(x[i : i + chunk], x)
        # index k: the 0th smallest is the point itself (distance 0)
        out[i : i + chunk] = np.sqrt(np.partition(d2, k, axis=1)[:, k])
    return out


def _inside(points: np.ndarray, centres: np.ndarray, radii: np.ndarray, chunk: int) -> np.ndarray:
    inside = np.zeros(len(points), bool)
    r2 = radii**2
    for i in range(0, len(points), chunk):
        d2 = _sq_distances(points[i : i + chunk], centres)
        inside[i : i + chunk] = (d2 <= r2[None, :]).any(1)
    return inside


def precision_recall(
    real: np.ndarray, fake: np.ndarray, k: int = 3, chunk: int = 1024
) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with ``k`` neighbours.

    Shape:
        - real: (N, D); fake: (M, D)
    """
    real, fake = _features(real, "precision_recall"), _features(fake, "precision_recall")
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"precision_recall: real features have {real.shape[1]} dims, fake {fake.shape[1]}"
        )
    r_real = kth_neighbour_radii(real, k, chunk)
    r_fake = kth_neighbour_radii(fake, k, chunk)
    precision = _inside(fake, real, r_real, chunk).mean()
    recall = _inside(real, fake, r_fake, chunk).mean()
    return float(precision), float(recall)

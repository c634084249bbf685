"""Drawing from a trained generator: samples, latent interpolations (linear or spherical) and
each sample's nearest training images (the memorisation check)."""

from __future__ import annotations

import numpy as np

import cnnlab
from cnnlab import backend

__all__ = ["generate", "interpolate", "nearest_neighbours", "sample", "slerp"]


def generate(generator, z: np.ndarray, y=None, batch_size: int = 256) -> np.ndarray:
    """The generator's images of latent codes ``z`` (and classes ``y``) in eval mode,
    batch by batch, without gradients; the generator's mode is restored afterwards.

    Shape:
        - z: (N, nz); y: (N,); output: (N, C, H, W) in [-1, 1]
    """
    z = np.asarray(z, np.float32)
    was_training = generator.training
    generator.eval()
    out = []
    try:
        with cnnlab.no_grad():
            for i in range(0, len(z), batch_size):
                zt = cnnlab.tensor(z[i : i + batch_size])
                if getattr(generator, "num_classes", 0):
                    if y is None:
                        raise ValueError("generate: the generator is conditional; give classes y")
                    img = generator(zt, np.asarray(y)[i : i + batch_size])
                else:
                    img = generator(zt)
                out.append(backend.to_numpy(img.array))
    finally:
        generator.train(was_training)
    return np.concatenate(out) if out else np.zeros((0,), np.float32)


def sample(
    generator, n: int = 64, classes=None, seed: int = 0, return_latent: bool = False
) -> np.ndarray:
    """``n`` images in [0, 1] from latent codes drawn from N(0, I) with ``seed``.

    ``classes``: for a conditional generator, one class index for all samples or ``n``
    indices (default: the classes in turn).

    Shape:
        - output: (n, C, H, W) in [0, 1] (and z (n, nz) with ``return_latent``)
    """
    if n < 1:
        raise ValueError(f"sample: n must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, generator.nz)).astype(np.float32)
    y = None
    k = getattr(generator, "num_classes", 0)
    if k:
        y = np.arange(n) % k if classes is None else np.broadcast_to(np.asarray(classes), (n,))
    elif classes is not None:
        raise ValueError("sample: this generator is not conditional; it takes no classes")
    images = (generate(generator, z, y) + 1.0) / 2.0
    return (images, z) if return_latent else images


def slerp(z0: np.ndarray, z1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation (Shoemake 1985; White 2016 for GAN latents): along the great
    circle between ``z0`` and ``z1``, which keeps the norm typical of N(0, I) samples, where
    the straight line passes through the low-norm middle. Falls back to the straight line when
    the two are (anti)parallel.

    Shape:
        - z0, z1: (nz,); t: (T,); output: (T, nz)
    """
    z0, z1 = np.asarray(z0, np.float64), np.asarray(z1, np.float64)
    t = np.asarray(t, np.float64)[:, None]
    cos = np.dot(z0, z1) / (np.linalg.norm(z0) * np.linalg.norm(z1) + 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if np.sin(omega) < 1e-6:
        return (1 - t) * z0 + t * z1
    return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def interpolate(
    generator,
    z0: np.ndarray,
    z1: np.ndarray,
    steps: int = 10,
    use_slerp: bool = False,
    y=None,
) -> np.ndarray:
    """Images along the latent path from ``z0`` to ``z1`` (both ends included), in [0, 1].

    Shape:
        - z0, z1: (nz,); output: (steps, C, H, W)
    """
    if steps < 2:
        raise ValueError(f"interpolate: steps must be at least 2, got {steps}")
    t = np.linspace(0.0, 1.0, steps)
    z0, z1 = np.asarray(z0, np.float64).ravel(), np.asarray(z1, np.float64).ravel()
    path = slerp(z0, z1, t) if use_slerp else (1 - t[:, None]) * z0 + t[:, None] * z1
    ys = None if y is None else np.broadcast_to(np.asarray(y), (steps,))
    return (generate(generator, path.astype(np.float32), ys) + 1.0) / 2.0


def nearest_neighbours(
    queries: np.ndarray, data: np.ndarray, k: int = 3, chunk: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and Euclidean distances of each query's ``k`` nearest rows of ``data``
    (flattened; pixels or features), nearest first.

    Shape:
        - queries: (Q, ...); data: (N, ...); output: (Q, k) indices and (Q, k) distances
    """
    q = np.asarray(queries, np.float64).reshape(len(queries), -1)
    d = np.asarray(data, np.float64).reshape(len(data), -1)
    if q.shape[1] != d.shape[1]:
        raise ValueError(f"nearest_neighbours: queries have {q.shape[1]} values, data {d.shape[1]}")
    k = min(int(k), len(d))
    dsq = (d * d).sum(1)
    idx = np.empty((len(q), k), np.int64)
    dist = np.empty((len(q), k))
    for i in range(0, len(q), chunk):
        qq = q[i : i + chunk]
        d2 = np.maximum((qq * qq).sum(1)[:, None] + dsq[None, :] - 2 * qq @ d.T, 0.0)
        part = np.argpartition(d2, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(d2, part, 1).argsort(1, kind="stable")
        idx[i : i + chunk] = np.take_along_axis(part, order, 1)
        dist[i : i + chunk] = np.sqrt(np.take_along_axis(d2, idx[i : i + chunk], 1))
    return idx, dist

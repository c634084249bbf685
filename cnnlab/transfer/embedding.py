"""A 2-D map of features (t-SNE from scikit-learn when it is installed, else PCA), coloured
by class, with a few images drawn at their points: the picture of what a network's features
separate."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["embed_2d", "plot_embedding"]


def embed_2d(features: np.ndarray, method: str = "auto", seed: int = 0) -> tuple[np.ndarray, str]:
    """``(points (N, 2), method used)``: ``tsne`` (scikit-learn), ``pca`` (an SVD here), or
    ``auto`` (t-SNE if scikit-learn imports, else PCA).

    Shape:
        - features: (N, D); points: (N, 2)
    """
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or len(f) < 3:
        raise ValueError(f"embed_2d: need (N, D) features with N >= 3, got {f.shape}")
    if method not in ("auto", "tsne", "pca"):
        raise ValueError(f"embed_2d: method must be auto, tsne or pca, got {method!r}")
    centred = f - f.mean(axis=0)
    if method in ("auto", "tsne"):
        try:
            from sklearn.manifold import TSNE
        except ImportError:
            if method == "tsne":
                raise ValueError("embed_2d: t-SNE needs scikit-learn") from None
        else:
            perplexity = float(min(30.0, (len(f) - 1) / 3))
            tsne = TSNE(2, perplexity=perplexity, init="pca", random_state=seed)
            return tsne.fit_transform(centred), "tsne"
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T, "pca"


def plot_embedding(
    points: np.ndarray,
    labels: np.ndarray,
    path,
    images: np.ndarray | None = None,
    classes: list | None = None,
    title: str = "",
    thumbnails: int = 40,
    seed: int = 0,
) -> Path:
    """Scatter ``points`` coloured by ``labels`` into a PNG at ``path``, with ``thumbnails``
    of ``images`` (N, C, H, W in [0, 1]) drawn at randomly chosen points.

    Shape:
        - points: (N, 2); labels: (N,); images: (N, C, H, W)
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage

    fig = Figure(figsize=(8, 7), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    labels = np.asarray(labels)
    for c in np.unique(labels):
        m = labels == c
        name = classes[int(c)] if classes is not None and int(c) < len(classes) else str(c)
        ax.scatter(points[m, 0], points[m, 1], s=4, alpha=0.6, label=name, color=f"C{int(c) % 10}")
    if images is not None and thumbnails:
        pick = np.random.default_rng(seed).choice(len(points), min(thumbnails, len(points)), False)
        for i in pick:
            img = np.asarray(images[i])
            img = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
            box = OffsetImage(img, zoom=0.9, cmap="gray" if img.ndim == 2 else None)
            ab = AnnotationBbox(box, points[i], frameon=True, pad=0.1,
                                bboxprops={"edgecolor": f"C{int(labels[i]) % 10}"})  # fmt: skip
            ax.add_artist(ab)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=7, markerscale=3, loc="best")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path)
    return path
